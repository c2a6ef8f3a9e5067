#!/usr/bin/python3
"""sparkfleet_client.py: a downstream tool calling sparkfleet's Coordinator gRPC service.

`sparkctl serve` serves sparkfleet.v1.Coordinator over mutual TLS. This example is what a
tool that sets up CUDA, containers or job launchers on the cluster would do instead of
scraping sparkctl's output: read the cluster's configuration, learn how to ssh to each node,
and ask for a dry-run deploy, over one channel authenticated by a client certificate of the
cluster CA. The server checks the certificate's role itself: a reader certificate may call
GetClusterConfig and GetConnectionInfo, only an admin one may call Deploy (even a dry run).

  sparkfleet_client.py --target 127.0.0.1:50150 --ca pki/ca.crt \\
      --cert pki/reader.crt --key pki/reader.key config
  sparkfleet_client.py ... connection-info [--tailscale] [--limit spark-001 ...]
  sparkfleet_client.py ... --cert pki/admin.crt --key pki/admin.key \\
      deploy --check [--steps single-node ...] [--limit spark-001 ...] [--diff]

--json prints the replies as JSON (proto field names, every field; one event per line for
deploy), else a short summary. Exit status: 0 ok; 2 the deploy finished but its recap is not
ok (a node failed or was unreachable); 1 an RPC error (its gRPC status code and details are
printed, e.g. PERMISSION_DENIED for a reader calling Deploy) or a usage error.

The generated modules (sparkfleet/v1/*_pb2.py, *_pb2_grpc.py: protoc's Python output and
grpc_python_plugin's, made by the build's `sparkfleet_python_stubs` target) are imported from
--stubs DIR, else $SPARKFLEET_PY_STUBS, else build/python in this repository.
"""

import argparse
import importlib
import json
import os
import shlex
import sys
from pathlib import Path

try:
    import grpc
    from google.protobuf import json_format
except ImportError as missing:
    sys.exit(f"{missing}: install Debian's python3-grpcio and python3-protobuf "
             "(or grpcio and protobuf from PyPI)")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_RECAP_NOT_OK = 2

DEFAULT_STUBS = Path(__file__).resolve().parent.parent.parent / "build" / "python"
# Seconds each call may take, end to end, unless --timeout says otherwise. A deploy streams
# for as long as every step on every node takes, so it gets more.
DEFAULT_TIMEOUT_S = {"config": 10.0, "connection-info": 10.0, "deploy": 600.0}
# Deploy's steps in pipeline order, for --help only: the server checks the names.
STEPS = ("single-node", "multi-node", "tailscale", "nccl", "validate")


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error exits 1 (as sparkctl's do): 2 means "recap not ok"."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def parse_args(argv):
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="127.0.0.1:50150", metavar="HOST:PORT",
                        help="HOST:PORT of `sparkctl serve` (default %(default)s)")
    parser.add_argument("--ca", required=True, metavar="FILE", help="cluster CA certificate (PEM)")
    parser.add_argument("--cert", required=True, metavar="FILE",
                        help="client certificate with a role (`sparkctl pki issue --client`)")
    parser.add_argument("--key", required=True, metavar="FILE",
                        help="the client certificate's private key")
    parser.add_argument("--server-name", metavar="NAME",
                        help="name to check the server certificate against, when it does not "
                             "name the --target host (e.g. the --node NAME it was issued for)")
    parser.add_argument("--stubs", type=Path, metavar="DIR",
                        default=Path(os.environ.get("SPARKFLEET_PY_STUBS") or DEFAULT_STUBS),
                        help="directory holding sparkfleet/v1/*_pb2*.py "
                             "(default $SPARKFLEET_PY_STUBS, else %s)" % DEFAULT_STUBS)
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="deadline of the call (default: 10, deploy 600)")
    parser.add_argument("--json", action="store_true", help="print replies as JSON")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("config", help="GetClusterConfig: cluster.yaml as the coordinator read it")

    info = commands.add_parser("connection-info", help="GetConnectionInfo: how to ssh to each node")
    info.add_argument("--tailscale", action="store_true",
                      help="ssh over Tailscale addresses (nodes without one are left out)")
    info.add_argument("--limit", nargs="+", default=[], metavar="NODE", help="only these nodes")

    deploy = commands.add_parser("deploy", help="Deploy: the deployment pipeline (admin)")
    deploy.add_argument("--check", action="store_true",
                        help="dry run: report what would change, change nothing")
    deploy.add_argument("--steps", nargs="+", default=[], metavar="STEP",
                        help="steps to run (default all): " + ", ".join(STEPS))
    deploy.add_argument("--skip", nargs="+", default=[], metavar="STEP",
                        help="steps to leave out")
    deploy.add_argument("--limit", nargs="+", default=[], metavar="NODE", help="only these nodes")
    deploy.add_argument("--diff", action="store_true", help="show each node's unified diffs")
    deploy.add_argument("--node-timeout-ms", type=int, default=0, metavar="MS",
                        help="deadline of each agent call the coordinator makes (0: its default)")
    args = parser.parse_args(argv)
    if args.timeout is None:
        args.timeout = DEFAULT_TIMEOUT_S[args.command]
    return args


def load_stubs(directory):
    """Imports the generated modules from DIRECTORY; returns (coordinator_pb2, _pb2_grpc)."""
    if not (directory / "sparkfleet" / "v1" / "coordinator_pb2_grpc.py").is_file():
        raise SystemExit(f"no generated stubs in {directory}: build them (cmake --build build "
                         "--target sparkfleet_python_stubs) or pass --stubs DIR")
    sys.path.insert(0, str(directory))
    return (importlib.import_module("sparkfleet.v1.coordinator_pb2"),
            importlib.import_module("sparkfleet.v1.coordinator_pb2_grpc"))


def open_channel(args):
    """An mTLS channel to --target: our certificate and key, the server's checked against --ca."""
    try:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=Path(args.ca).read_bytes(),
            private_key=Path(args.key).read_bytes(),
            certificate_chain=Path(args.cert).read_bytes())
    except OSError as error:
        raise SystemExit(f"cannot read a TLS file: {error}")
    options = []
    if args.server_name:
        options.append(("grpc.ssl_target_name_override", args.server_name))
    return grpc.secure_channel(args.target, credentials, options=options)


def to_dict(message):
    """The message as sparkctl --json prints it: proto field names, every field."""
    try:
        return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         including_default_value_fields=True)
    except TypeError:  # protobuf >= 5.26 renamed the option
        return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)


def print_json(message, one_line=False):
    print(json.dumps(to_dict(message), indent=None if one_line else 2), flush=True)


def show_config(stub, pb2, args):
    config = stub.GetClusterConfig(pb2.GetClusterConfigRequest(), timeout=args.timeout)
    if args.json:
        print_json(config)
        return EXIT_OK
    print(f"cluster {config.cluster_name}: {config.node_count} nodes, primary "
          f"{config.primary_node}, tailscale {'on' if config.enable_tailscale else 'off'}, "
          f"nccl {'on' if config.enable_nccl else 'off'}")
    for node in config.nodes:
        tailscale = f", tailnet {node.tailscale_ip}" if node.tailscale_ip else ""
        print(f"  {node.hostname:<12} {node.user}@{node.ip}, agent port {node.port}{tailscale}")
    print(f"  cluster SSH key: {config.ssh_keys.private_key_path}")
    return EXIT_OK


def show_connection_info(stub, pb2, args):
    request = pb2.GetConnectionInfoRequest(limit=args.limit, use_tailscale=args.tailscale)
    reply = stub.GetConnectionInfo(request, timeout=args.timeout)
    if args.json:
        print_json(reply)
        return EXIT_OK
    for node in reply.nodes:
        # ssh_argv is an argv: run it as a list (subprocess.run(node.ssh_argv)), never
        # through a shell; quoting here is only for a human to read.
        print(f"{node.node:<12} {shlex.join(node.ssh_argv)}")
    return EXIT_OK


def deploy_line(pb2, event):
    state = pb2.DeployState.Name(event.state).removeprefix("DEPLOY_STATE_")
    task = f" {event.task}" if event.task else ""
    line = f"{event.node:<12} {event.step}{task}: {state} ({event.duration_ms} ms)"
    if event.error:
        code = f"{event.error_code}: " if event.error_code else ""
        line += f"\n    {code}{event.error}"
    if event.diff:
        line += "\n" + "\n".join("    " + diff_line for diff_line in event.diff.splitlines())
    return line


def run_deploy(stub, pb2, args):
    """Streams the deploy's events; returns the exit status its recap calls for."""
    request = pb2.DeployRequest(limit=args.limit, steps=args.steps, skip=args.skip,
                                dry_run=args.check, include_diff=args.diff,
                                timeout_ms=args.node_timeout_ms)
    recap = None
    for event in stub.Deploy(request, timeout=args.timeout):
        if args.json:
            print_json(event, one_line=True)
        if event.HasField("recap"):
            recap = event.recap
        elif not args.json:
            print(deploy_line(pb2, event), flush=True)
    if recap is None:
        print("deploy: the stream ended without a recap", file=sys.stderr)
        return EXIT_ERROR
    if not args.json:
        print(f"RECAP{' (check mode: nothing changed)' if args.check else ''}, "
              f"{recap.duration_ms} ms")
        for node in recap.nodes:
            print(f"  {node.node:<12} ok={node.ok} changed={node.changed} "
                  f"unreachable={node.unreachable} failed={node.failed} skipped={node.skipped}")
    return EXIT_OK if recap.ok else EXIT_RECAP_NOT_OK


def main(argv):
    args = parse_args(argv)
    pb2, pb2_grpc = load_stubs(args.stubs)
    commands = {"config": show_config, "connection-info": show_connection_info,
                "deploy": run_deploy}
    with open_channel(args) as channel:
        stub = pb2_grpc.CoordinatorStub(channel)
        try:
            return commands[args.command](stub, pb2, args)
        except grpc.RpcError as error:
            print(f"{args.command}: {error.code().name}: {error.details()}", file=sys.stderr)
            return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
