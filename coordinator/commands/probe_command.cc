#include "coordinator/commands/probe_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/cluster_session.h"
#include "coordinator/render.h"

namespace sparkfleet {
namespace {

constexpr char kLegend[] =
    "Legend:\n\n"
    "  X    = Self\n"
    "  SYS  = Connection traversing PCIe as well as the SMP interconnect between NUMA nodes\n"
    "  NODE = Connection traversing PCIe as well as the interconnect between PCIe Host Bridges "
    "within a NUMA node\n"
    "  PHB  = Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)\n"
    "  PXB  = Connection traversing multiple PCIe bridges (without traversing the PCIe Host "
    "Bridge)\n"
    "  PIX  = Connection traversing at most a single PCIe bridge\n"
    "  NV#  = Connection traversing a bonded set of # NVLinks\n";

std::string TopologyLevelName(const v1::TopologyCell& cell) {
  switch (cell.level()) {
    case v1::TOPOLOGY_LEVEL_X:
      return "X";
    case v1::TOPOLOGY_LEVEL_PIX:
      return "PIX";
    case v1::TOPOLOGY_LEVEL_PXB:
      return "PXB";
    case v1::TOPOLOGY_LEVEL_PHB:
      return "PHB";
    case v1::TOPOLOGY_LEVEL_NODE:
      return "NODE";
    case v1::TOPOLOGY_LEVEL_SYS:
      return "SYS";
    case v1::TOPOLOGY_LEVEL_NV:
      return absl::StrCat("NV", cell.nvlinks());
    default:
      return "?";
  }
}

std::string Addresses(const v1::Nic& nic) {
  std::vector<std::string> out;
  for (const v1::IpAddress& a : nic.addresses()) {
    out.push_back(absl::StrCat(a.address(), "/", a.prefix_length()));
  }
  return out.empty() ? "-" : absl::StrJoin(out, " ");
}

std::string PortState(v1::RdmaPortState state) {
  switch (state) {
    case v1::RDMA_PORT_STATE_ACTIVE:
      return "ACTIVE";
    case v1::RDMA_PORT_STATE_DOWN:
      return "DOWN";
    case v1::RDMA_PORT_STATE_INIT:
      return "INIT";
    case v1::RDMA_PORT_STATE_ARMED:
      return "ARMED";
    default:
      return "?";
  }
}

int RunProbe(CommandContext& context, bool topology) {
  absl::StatusOr<ClusterSession> session = OpenCluster(context.globals);
  if (!session.ok()) return UsageError(context, session.status());
  FanOutOptions options = session->fanout;
  options.progress_label = topology ? "topo" : "probe";
  std::vector<NodeResult<v1::ProbeReply>> results = FanOut<v1::ProbeRequest, v1::ProbeReply>(
      *session->channels, session->nodes, options,
      [](const ClusterNode&) { return v1::ProbeRequest(); },
      [](auto* async, auto* ctx, auto* request, auto* reply, auto done) {
        async->Probe(ctx, request, reply, std::move(done));
      });
  if (context.globals.json) {
    *context.out << FanOutJson(results);
  } else {
    for (const NodeResult<v1::ProbeReply>& r : results) {
      if (!r.status.ok()) {
        *context.out << "== " << r.node << "\n  error: " << OneLineError(r.status) << "\n\n";
      } else {
        *context.out << (topology ? RenderTopology(r.node, r.reply)
                                  : RenderProbeSummary(r.node, r.reply))
                     << "\n";
      }
    }
  }
  return FanOutExitCode(results);
}

}  // namespace

std::string RenderProbeSummary(const std::string& node, const v1::ProbeReply& reply) {
  std::string out = absl::StrCat(
      "== ", node, reply.sandboxed_root() ? " (hardware from its --root tree)" : "", "\n");
  Table nics({"  INTERFACE", "STATE", "SPEED", "MTU", "ADDRESSES", "RDMA", "PCI", "PCIe"});
  for (const v1::Nic& nic : reply.nics()) {
    if (nic.kind() != v1::NIC_KIND_PHYSICAL) continue;
    bool cabled = nic.has_carrier() && nic.carrier();
    std::string pcie =
        nic.pcie().max_width_lanes() == 0
            ? "-"
            : absl::StrFormat("%gGT/s x%d (max %gGT/s x%d)", nic.pcie().current_speed_gtps(),
                              nic.pcie().current_width_lanes(), nic.pcie().max_speed_gtps(),
                              nic.pcie().max_width_lanes());
    nics.AddRow({"  " + nic.name(), cabled ? "cabled" : (nic.wireless() ? "wifi" : "no-carrier"),
                 nic.speed_mbps() > 0 ? absl::StrCat(nic.speed_mbps() / 1000, "G") : "-",
                 absl::StrCat(nic.mtu_bytes()), Addresses(nic),
                 nic.rdma_devices().empty() ? "-" : absl::StrJoin(nic.rdma_devices(), ","),
                 nic.pci_address().empty() ? "-" : nic.pci_address(), pcie});
  }
  absl::StrAppend(&out, nics.Render());
  if (reply.rdma_devices_size() > 0) {
    Table rdma({"  RDMA", "PORT", "STATE", "RATE", "NETDEV", "GID(auto)", "FW"});
    for (const v1::RdmaDevice& device : reply.rdma_devices()) {
      for (const v1::RdmaPort& port : device.ports()) {
        rdma.AddRow({"  " + device.name(), absl::StrCat(port.port()), PortState(port.state()),
                     absl::StrCat(port.rate_gbps(), " Gb/s"), port.netdev(),
                     port.has_auto_gid_index() ? absl::StrCat(port.auto_gid_index()) : "-",
                     device.fw_version()});
      }
    }
    absl::StrAppend(&out, rdma.Render());
  } else {
    absl::StrAppend(&out, "  no RDMA devices\n");
  }
  if (reply.gpus_size() == 0) absl::StrAppend(&out, "  no NVIDIA GPU\n");
  for (const v1::Gpu& gpu : reply.gpus()) {
    absl::StrAppend(&out, "  GPU", gpu.index(), ": ", gpu.name(), " at ", gpu.pci_address(),
                    gpu.driver_version().empty() ? "" : ", driver " + gpu.driver_version(),
                    gpu.has_memory_total_bytes()
                        ? absl::StrFormat(", %.1f GiB", gpu.memory_total_bytes() / 1073741824.0)
                        : "",
                    gpu.source() == v1::GPU_SOURCE_PCI ? " (from PCI; no NVML)" : "", "\n");
  }
  for (const v1::ProbeWarning& warning : reply.warnings()) {
    absl::StrAppend(&out, "  warning: ", warning.path(), ": ", warning.message(), "\n");
  }
  return out;
}

std::string RenderTopology(const std::string& node, const v1::ProbeReply& reply) {
  const v1::TopologyMatrix& matrix = reply.topology();
  std::string out = absl::StrCat("== ", node, "\n");
  if (matrix.devices_size() == 0) return out + "  no GPUs or NICs to relate\n";
  std::vector<std::string> header = {""};
  for (const v1::TopologyDevice& d : matrix.devices()) header.push_back(d.label());
  header.push_back("CPU Affinity");
  header.push_back("NUMA Affinity");
  Table table(header);
  for (int i = 0; i < matrix.devices_size(); ++i) {
    const v1::TopologyDevice& device = matrix.devices(i);
    std::vector<std::string> row = {device.label()};
    for (const v1::TopologyCell& cell : matrix.rows(i).cells()) {
      row.push_back(TopologyLevelName(cell));
    }
    bool gpu = device.kind() == v1::TOPOLOGY_DEVICE_KIND_GPU;
    row.push_back(gpu && !device.cpu_affinity().empty() ? device.cpu_affinity() : "");
    row.push_back(gpu ? (device.numa_affinity() >= 0 ? absl::StrCat(device.numa_affinity()) : "N/A")
                      : "");
    table.AddRow(row);
  }
  absl::StrAppend(&out, table.Render(), "\n", kLegend, "\nNIC Legend:\n\n");
  for (const v1::TopologyDevice& d : matrix.devices()) {
    if (d.kind() != v1::TOPOLOGY_DEVICE_KIND_NIC) continue;
    absl::StrAppend(
        &out, "  ", d.label(), ": ", d.rdma_device().empty() ? d.netdev() : d.rdma_device(),
        d.rdma_device().empty() ? " (no RDMA)" : absl::StrCat(" (", d.netdev(), ")"), "\n");
  }
  return out;
}

void RegisterProbeCommands(CLI::App& app, CommandContext& context) {
  app.add_subcommand("probe", "NICs, RDMA devices and GPUs of every node")->callback([&context] {
    context.exit_code = RunProbe(context, /*topology=*/false);
  });
  app.add_subcommand("topo", "GPU/NIC topology of every node, like nvidia-smi topo -m")
      ->callback([&context] { context.exit_code = RunProbe(context, /*topology=*/true); });
}

}  // namespace sparkfleet
