#!/usr/bin/env python3
"""Generates the hardware fixture trees in this directory (see README.md).

    python3 tests/testdata/sysfs/make_fixtures.py                  # (re)write dgx-spark/, dgx-h100/, vm/
    python3 tests/testdata/sysfs/make_fixtures.py --print-expected # print the expected topology matrices

Re-runnable: each tree directory is removed and written again, with identical content.
Each tree is laid out like the kernel's sysfs/procfs: /sys/class/* entries are relative
symlinks into /sys/devices, a netdev's `device` and an RDMA device's `device` link to the
PCI function, a PCI function's `driver` links into /sys/bus/pci/drivers/<name>.
"""

import ipaddress
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TREES = ("dgx-spark", "dgx-h100", "vm")
GID_TABLE_SIZE = 16  # real mlx5 RoCE tables have 255 slots; the fixtures keep 16


# ----------------------------------------------------------------------------- tree writing

class Tree:
    """A fixture root. Paths are node paths ("/sys/...")."""

    base = HERE  # where trees are written; --print-expected uses a scratch directory

    def __init__(self, name):
        self.root = os.path.join(Tree.base, name)

    def _host(self, path):
        assert path.startswith("/"), path
        return os.path.join(self.root, path.lstrip("/"))

    def mkdir(self, path):
        os.makedirs(self._host(path), exist_ok=True)

    def put(self, path, value):
        """Writes `value` + newline, as sysfs shows a one-line attribute; None = empty file."""
        self.raw(path, "" if value is None else f"{value}\n")

    def raw(self, path, text):
        host = self._host(path)
        os.makedirs(os.path.dirname(host), exist_ok=True)
        with open(host, "w", encoding="ascii", newline="\n") as f:
            f.write(text)

    def link(self, path, target):
        """Symlink at node path `path` pointing (relatively, as the kernel does) to `target`."""
        host = self._host(path)
        os.makedirs(os.path.dirname(host), exist_ok=True)
        # As kernfs_get_target_path(): climb from the link's directory to the nearest ancestor
        # of the target's *parent*, then descend, so a link to an ancestor directory reads
        # "../../../0000:01:00.1", never "../..".
        up = os.path.relpath(os.path.dirname(target), os.path.dirname(path))
        rel = os.path.basename(target) if up == "." else f"{up}/{os.path.basename(target)}"
        os.symlink(rel, host)


# ----------------------------------------------------------------------------- PCI model

class HostBridge:
    def __init__(self, domain, bus, numa, cpulist):
        self.domain, self.bus, self.numa, self.cpulist = domain, bus, numa, cpulist
        self.path = f"/sys/devices/pci{domain:04x}:{bus:02x}"
        self.parent = None


class PciFn:
    """One PCI function. kind: 'rp' root port, 'usp'/'dsp' switch ports, 'ep' endpoint."""

    def __init__(self, parent, bus, dev, fn, *, kind, vendor, device, cls, driver=None,
                 link=None, subsys=None, numa=None, cpulist=None):
        self.parent = parent
        hb = parent
        while not isinstance(hb, HostBridge):
            hb = hb.parent
        self.hb = hb
        self.bdf = f"{hb.domain:04x}:{bus:02x}:{dev:02x}.{fn:x}"
        self.bus, self.dev, self.fn = bus, dev, fn
        self.kind, self.vendor, self.device, self.cls = kind, vendor, device, cls
        self.driver, self.link, self.subsys = driver, link, subsys
        self.numa = hb.numa if numa is None else numa
        self.cpulist = hb.cpulist if cpulist is None else cpulist
        self.path = f"{parent.path}/{self.bdf}"
        self.secondary = None  # bus behind a bridge

    def chain(self):
        """Ancestors from the host bridge's first function down to self."""
        out, node = [], self
        while isinstance(node, PciFn):
            out.append(node)
            node = node.parent
        return list(reversed(out))


def write_pci(t, fn, all_fns):
    t.put(f"{fn.path}/vendor", f"0x{fn.vendor:04x}")
    t.put(f"{fn.path}/device", f"0x{fn.device:04x}")
    t.put(f"{fn.path}/class", f"0x{fn.cls:06x}")
    sv, sd = fn.subsys or (fn.vendor, fn.device)
    t.put(f"{fn.path}/subsystem_vendor", f"0x{sv:04x}")
    t.put(f"{fn.path}/subsystem_device", f"0x{sd:04x}")
    t.put(f"{fn.path}/numa_node", fn.numa)
    t.put(f"{fn.path}/local_cpulist", fn.cpulist)
    if fn.link is not None:  # only PCIe functions have these (not conventional PCI)
        cur_s, cur_w, max_s, max_w = fn.link
        t.put(f"{fn.path}/current_link_speed", cur_s)
        t.put(f"{fn.path}/current_link_width", cur_w)
        t.put(f"{fn.path}/max_link_speed", max_s)
        t.put(f"{fn.path}/max_link_width", max_w)
    if fn.cls >> 8 == 0x0604:
        subs = [f.bus for f in all_fns if _under(f, fn)]
        t.put(f"{fn.path}/secondary_bus_number", fn.secondary)
        t.put(f"{fn.path}/subordinate_bus_number", max(subs) if subs else fn.secondary)
    if fn.driver:
        t.link(f"{fn.path}/driver", f"/sys/bus/pci/drivers/{fn.driver}")
        t.link(f"/sys/bus/pci/drivers/{fn.driver}/{fn.bdf}", fn.path)
    t.link(f"/sys/bus/pci/devices/{fn.bdf}", fn.path)


def _under(f, bridge):
    node = f.parent
    while isinstance(node, PciFn):
        if node is bridge:
            return True
        node = node.parent
    return False


GEN5 = "32.0 GT/s PCIe"
GEN4 = "16.0 GT/s PCIe"


class Pci:
    """Builds a PCI hierarchy; functions are kept in creation order."""

    def __init__(self):
        self.fns = []

    def add(self, parent, bus, dev, fn, **kw):
        f = PciFn(parent, bus, dev, fn, **kw)
        self.fns.append(f)
        return f

    def bridge(self, parent, bus, dev, kind, secondary, *, vendor, device, link, driver="pcieport",
               fn=0):
        b = self.add(parent, bus, dev, fn, kind=kind, vendor=vendor, device=device, cls=0x060400,
                     driver=driver, link=link)
        b.secondary = secondary
        return b

    def write(self, t):
        for f in self.fns:
            write_pci(t, f, self.fns)


# ----------------------------------------------------------------------------- netdevs, RDMA

def eui64_gid(mac):
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 0x02
    e = b[:3] + [0xFF, 0xFE] + b[3:]
    return "fe80:0000:0000:0000:" + ":".join(f"{e[i]:02x}{e[i + 1]:02x}" for i in range(0, 8, 2))


def eui64_ll(mac):
    return str(ipaddress.IPv6Address(eui64_gid(mac))) + "/64"


def ipv4_gid(ip):
    o = [int(x) for x in ip.split(".")]
    return f"0000:0000:0000:0000:0000:ffff:{o[0]:02x}{o[1]:02x}:{o[2]:02x}{o[3]:02x}"


def ipv6_gid(ip):
    return ipaddress.IPv6Address(ip).exploded


def node_guid(mac):
    b = [int(x, 16) for x in mac.split(":")]
    g = b[:3] + [0x03, 0x00] + b[3:]
    return ":".join(f"{g[i]:02x}{g[i + 1]:02x}" for i in range(0, 8, 2))


ZERO_GID = "0000:0000:0000:0000:0000:0000:0000:0000"


def write_netdev(t, name, *, dev_dir, device=None, address, mtu, speed, operstate, carrier,
                 ifindex, type_=1, flags="0x1003", phys_port_name=None, extra=None):
    """dev_dir: the directory holding net/<name> (a PCI function, a virtio device, or
    /sys/devices/virtual). device: what `device` links to (None for virtual)."""
    d = f"{dev_dir}/net/{name}"
    t.put(f"{d}/address", address)
    t.put(f"{d}/addr_len", 0 if address == "" else 6)
    t.put(f"{d}/mtu", mtu)
    t.put(f"{d}/speed", speed)
    t.put(f"{d}/operstate", operstate)
    t.put(f"{d}/carrier", carrier)
    t.put(f"{d}/ifindex", ifindex)
    t.put(f"{d}/type", type_)
    t.put(f"{d}/flags", flags)
    if phys_port_name is not None:
        t.put(f"{d}/phys_port_name", phys_port_name)
    if device is not None:
        t.link(f"{d}/device", device)
    for rel, value in (extra or {}).items():
        t.put(f"{d}/{rel}", value)
    t.link(f"/sys/class/net/{name}", d)
    return d


def write_rdma(t, name, fn, *, netdev, mac, fw, active, gids, sys_image_guid=None,
               rate_active="200 Gb/sec (4X HDR)", rate_down="40 Gb/sec (4X QDR)"):
    """gids: list of (gid, type) for indexes 0..; the rest of the table is empty."""
    d = f"{fn.path}/infiniband/{name}"
    t.put(f"{d}/node_type", "1: CA")
    t.put(f"{d}/fw_ver", fw)
    t.put(f"{d}/hca_type", "MT4129")
    t.put(f"{d}/node_guid", node_guid(mac))
    t.put(f"{d}/sys_image_guid", sys_image_guid or node_guid(mac))
    t.link(f"{d}/device", fn.path)
    p = f"{d}/ports/1"
    t.put(f"{p}/state", "4: ACTIVE" if active else "1: DOWN")
    t.put(f"{p}/phys_state", "5: LinkUp" if active else "3: Disabled")
    t.put(f"{p}/rate", rate_active if active else rate_down)
    t.put(f"{p}/link_layer", "Ethernet")
    t.put(f"{p}/lid", "0x0")
    t.put(f"{p}/sm_lid", "0x0")
    for i in range(GID_TABLE_SIZE):
        if i < len(gids):
            gid, typ = gids[i]
            t.put(f"{p}/gids/{i}", gid)
            t.put(f"{p}/gid_attrs/types/{i}", typ)
            t.put(f"{p}/gid_attrs/ndevs/{i}", netdev)
        else:  # empty slot: zero GID; attrs read as EINVAL, represented by empty files
            t.put(f"{p}/gids/{i}", ZERO_GID)
            t.put(f"{p}/gid_attrs/types/{i}", None)
            t.put(f"{p}/gid_attrs/ndevs/{i}", None)
    t.link(f"/sys/class/infiniband/{name}", d)


def roce_gids(mac, ipv4=None, ipv6_global=None):
    """The table mlx5 builds: default (MAC-derived link-local) GID as v1/v2, then each
    address as v1/v2, global IPv6 before IPv4 when both are given."""
    g = [(eui64_gid(mac), "IB/RoCE v1"), (eui64_gid(mac), "RoCE v2")]
    if ipv6_global:
        g += [(ipv6_gid(ipv6_global), "IB/RoCE v1"), (ipv6_gid(ipv6_global), "RoCE v2")]
    if ipv4:
        g += [(ipv4_gid(ipv4), "IB/RoCE v1"), (ipv4_gid(ipv4), "RoCE v2")]
    return g


# ----------------------------------------------------------------------------- common files

def write_system(t, *, hostname, os_release, kernel, uptime, meminfo, nodes, driver=None):
    """nodes: list of cpulists, one per NUMA node. driver: (version, arch, gcc, [(bdf, info)])."""
    t.put("/etc/hostname", hostname)
    t.raw("/etc/os-release", os_release)
    t.put("/proc/sys/kernel/hostname", hostname)
    t.put("/proc/sys/kernel/osrelease", kernel)
    t.put("/proc/uptime", uptime)
    t.raw("/proc/meminfo", "".join(f"{k + ':':<16}{v:>8} kB\n" if v is not None else f"{k}\n"
                                   for k, v in meminfo))
    for i, cpus in enumerate(nodes):
        t.put(f"/sys/devices/system/node/node{i}/cpulist", cpus)
    t.put("/sys/devices/system/node/online", "0" if len(nodes) == 1 else f"0-{len(nodes) - 1}")
    t.put("/sys/devices/system/node/possible", "0" if len(nodes) == 1 else f"0-{len(nodes) - 1}")
    t.put("/sys/devices/system/cpu/online", ",".join(nodes) if len(nodes) == 1 else
          _merge_cpulists(nodes))
    if driver:
        version, arch, gcc, gpus = driver
        t.raw("/proc/driver/nvidia/version",
              f"NVRM version: NVIDIA UNIX Open Kernel Module for {arch}  {version}  Release Build  "
              f"(dvs-builder@U22-I3-AE18-09-3)  Wed Sep 24 21:31:26 UTC 2025\n"
              f"GCC version:  {gcc}\n")
        t.put("/sys/module/nvidia/version", version)
        for bdf, info in gpus:
            t.raw(f"/proc/driver/nvidia/gpus/{bdf}/information", info)


def _merge_cpulists(nodes):
    cpus = []
    for lst in nodes:
        for part in lst.split(","):
            a, _, b = part.partition("-")
            cpus.extend(range(int(a), int(b or a) + 1))
    cpus.sort()
    out, start = [], cpus[0]
    for prev, cur in zip(cpus, cpus[1:] + [None]):
        if cur != prev + 1:
            out.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = cur
    return ",".join(out)


def gpu_information(model, uuid, bdf, minor, vbios):
    dom, rest = bdf.split(":", 1)
    return (f"Model: \t\t {model}\n"
            f"IRQ:   \t\t {200 + minor}\n"
            f"GPU UUID: \t {uuid}\n"
            f"Video BIOS: \t {vbios}\n"
            f"Bus Type: \t PCIe\n"
            f"DMA Size: \t 52 bits\n"
            f"DMA Mask: \t 0xfffffffffffff\n"
            f"Bus Location: \t {dom}:{rest}\n"
            f"Device Minor: \t {minor}\n"
            f"GPU Excluded:\t No\n")


def write_addresses(t, lines):
    t.raw("/etc/sparkfleet/fixture-addresses",
          "# Fixture stand-in for getifaddrs(): IFNAME ADDRESS/PREFIX, one address per line.\n"
          + "".join(f"{ifname} {addr}\n" for ifname, addr in lines))


UBUNTU_2404 = """PRETTY_NAME="Ubuntu 24.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.3 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
"""

UBUNTU_2204 = """PRETTY_NAME="Ubuntu 22.04.5 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.5 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
"""


def meminfo(total, free, avail, cma):
    return [("MemTotal", total), ("MemFree", free), ("MemAvailable", avail),
            ("Buffers", 412_316), ("Cached", 6_201_844), ("SwapCached", 0),
            ("Active", 3_912_552), ("Inactive", 4_455_120), ("SwapTotal", 0), ("SwapFree", 0),
            ("Dirty", 88), ("AnonPages", 1_611_396), ("Mapped", 702_144), ("Shmem", 38_224),
            ("CmaTotal", cma), ("CmaFree", cma), ("HugePages_Total:       0", None),
            ("Hugepagesize", 2048)]


def write_virtual_basics(t, ifindex_lo=1):
    write_netdev(t, "lo", dev_dir="/sys/devices/virtual", address="00:00:00:00:00:00", mtu=65536,
                 speed=-1, operstate="unknown", carrier=1, ifindex=ifindex_lo, type_=772,
                 flags="0x9")


# ----------------------------------------------------------------------------- DGX Spark

SPARK_CX7_LINK = (GEN5, 4, GEN5, 4)


def build_spark():
    t = Tree("dgx-spark")
    cpus = "0-19"
    pci = Pci()
    nv_rp = dict(vendor=0x10DE, device=0x22CE)

    def domain(dom):
        hb = HostBridge(dom, 0x00, 0, cpus)
        rp = pci.bridge(hb, 0x00, 0x00, "rp", 0x01, link=(GEN5, 4, GEN5, 4), **nv_rp)
        return rp

    cx = {}
    for dom in (0x0000, 0x0002):
        rp = domain(dom)
        for f in (0, 1):
            cx[(dom, f)] = pci.add(rp, 0x01, 0x00, f, kind="ep", vendor=0x15B3, device=0x1021,
                                   cls=0x020000, driver="mlx5_core", link=SPARK_CX7_LINK,
                                   subsys=(0x10DE, 0x0018))
    rp7 = domain(0x0007)
    rp7.link = (GEN4, 1, GEN4, 1)
    realtek = pci.add(rp7, 0x01, 0x00, 0, kind="ep", vendor=0x10EC, device=0x8127, cls=0x020000,
                      driver="r8127", link=(GEN4, 1, GEN4, 1), subsys=(0x10DE, 0x0019))
    rp9 = domain(0x0009)
    rp9.link = (GEN4, 1, GEN4, 1)
    wifi = pci.add(rp9, 0x01, 0x00, 0, kind="ep", vendor=0x14C3, device=0x7925, cls=0x028000,
                   driver="mt7925e", link=(GEN4, 1, GEN4, 1), subsys=(0x14C3, 0x7925))
    rpf = domain(0x000F)
    rpf.link = (GEN5, 16, GEN5, 16)
    gpu = pci.add(rpf, 0x01, 0x00, 0, kind="ep", vendor=0x10DE, device=0x2E12, cls=0x030200,
                  driver="nvidia", link=(GEN5, 16, GEN5, 16), subsys=(0x10DE, 0x2101))
    pci.write(t)
    t.put("/sys/bus/pci/slots/7/address", "0007:01:00")
    t.put("/sys/bus/pci/slots/9/address", "0009:01:00")

    # ConnectX-7: function f of domain dom; port p<f>; only the p1 halves are cabled.
    ifindex = 4
    addrs = []
    names = {(0x0000, 0): ("enp1s0f0np0", "rocep1s0f0"), (0x0000, 1): ("enp1s0f1np1", "rocep1s0f1"),
             (0x0002, 0): ("enP2p1s0f0np0", "roceP2p1s0f0"),
             (0x0002, 1): ("enP2p1s0f1np1", "roceP2p1s0f1")}
    ipv4 = {0x0000: "192.168.100.10", 0x0002: "192.168.101.10"}
    for (dom, f), fn in cx.items():
        netdev, rdma = names[(dom, f)]
        mac = f"b8:3f:d2:5a:{1 if dom == 0 else 2:02x}:{f:02x}"
        up = f == 1
        write_netdev(t, netdev, dev_dir=fn.path, device=fn.path, address=mac,
                     mtu=9000 if up else 1500, speed=200000 if up else -1,
                     operstate="up" if up else "down", carrier=1 if up else 0, ifindex=ifindex,
                     phys_port_name=f"p{f}")
        ifindex += 1
        write_rdma(t, rdma, fn, netdev=netdev, mac=mac, fw="28.44.1036", active=up,
                   gids=roce_gids(mac, ipv4[dom] if up else None),
                   sys_image_guid=node_guid(f"b8:3f:d2:5a:{1 if dom == 0 else 2:02x}:00"))
        if up:
            addrs += [(netdev, f"{ipv4[dom]}/24"), (netdev, eui64_ll(mac))]

    write_virtual_basics(t)
    rt_mac = "00:e0:4c:68:07:01"
    write_netdev(t, "enP7s7", dev_dir=realtek.path, device=realtek.path, address=rt_mac, mtu=1500,
                 speed=10000, operstate="up", carrier=1, ifindex=2)
    wifi_mac = "00:0c:43:79:25:01"
    d = write_netdev(t, "wlP9s9", dev_dir=wifi.path, device=wifi.path, address=wifi_mac, mtu=1500,
                     speed=-1, operstate="down", carrier=0, ifindex=3,
                     extra={"wireless/status": "0x0000", "wireless/link": "0"})
    phy = f"{wifi.path}/ieee80211/phy0"
    t.put(f"{phy}/name", "phy0")
    t.put(f"{phy}/index", "0")
    t.put(f"{phy}/macaddress", wifi_mac)
    t.link(f"{phy}/device", wifi.path)
    t.link(f"{d}/phy80211", phy)
    t.link("/sys/class/ieee80211/phy0", phy)

    v = "/sys/devices/virtual"
    write_netdev(t, "tailscale0", dev_dir=v, address="", mtu=1280, speed=10, operstate="unknown",
                 carrier=1, ifindex=8, type_=65534, flags="0x11d1", extra={"tun_flags": "0x1002"})
    write_netdev(t, "docker0", dev_dir=v, address="02:42:5c:1f:3a:9e", mtu=1500, speed=10000,
                 operstate="up", carrier=1, ifindex=9,
                 extra={"bridge/stp_state": "0", "bridge/bridge_id": "8000.02425c1f3a9e",
                        "bridge/forward_delay": "1500"})
    write_netdev(t, "veth1234", dev_dir=v, address="6a:1e:2f:3d:4c:5b", mtu=1500, speed=10000,
                 operstate="up", carrier=1, ifindex=10, extra={"brport/state": "3"})
    t.link(f"{v}/net/docker0/brif/veth1234", f"{v}/net/veth1234/brport")
    t.link(f"{v}/net/veth1234/master", f"{v}/net/docker0")
    t.link(f"{v}/net/veth1234/brport/bridge", f"{v}/net/docker0")

    write_addresses(t, [("lo", "127.0.0.1/8"), ("lo", "::1/128"),
                        ("enP7s7", "192.168.1.101/24"), ("enP7s7", eui64_ll(rt_mac))] + addrs +
                    [("tailscale0", "100.64.0.1/32"), ("tailscale0", "fd7a:115c:a1e0::1/128"),
                     ("docker0", "172.17.0.1/16")])

    write_system(t, hostname="spark-001", os_release=UBUNTU_2404, kernel="6.11.0-1016-nvidia",
                 uptime="12345.67 234567.89",
                 meminfo=meminfo(127_526_044, 118_204_332, 121_987_120, 65_536), nodes=[cpus],
                 driver=("580.95.05", "aarch64", "gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)",
                         [(gpu.bdf, gpu_information(
                             "NVIDIA GB10", "GPU-5a1c0e2b-7d3f-4e8a-9b6c-1f2e3d4c5b6a",
                             gpu.bdf, 0, "??.??.??.??.??"))]))
    gpus = [gpu]
    nics = [cx[(0x0000, 0)], cx[(0x0000, 1)], cx[(0x0002, 0)], cx[(0x0002, 1)]]
    return gpus, nics, [realtek, wifi]


# ----------------------------------------------------------------------------- DGX-H100-like

def build_h100():
    t = Tree("dgx-h100")
    pci = Pci()
    node_cpus = ["0-55,112-167", "56-111,168-223"]
    x16 = (GEN5, 16, GEN5, 16)
    intel_rp = dict(vendor=0x8086, device=0x352A)
    plx = dict(vendor=0x1000, device=0xC030)
    gpus, nics = [], []
    # Four host bridges (one per PCIe root complex/IIO stack), two per socket. Under each:
    #   root port R:01.0 -> switch SW1 (USP R+1:00.0, DSPs R+2:00.0..03.0)
    #     DSP R+2:00.0 -> GPU_A  R+3:00.0
    #     DSP R+2:01.0 -> NIC_A  R+4:00.0
    #     DSP R+2:02.0 -> switch SW2 (USP R+5:00.0, DSP R+6:00.0) -> GPU_B R+7:00.0
    #     DSP R+2:03.0 -> NIC_B  R+8:00.0
    for c, r in enumerate((0x10, 0x30, 0x90, 0xB0)):
        numa = c // 2
        hb = HostBridge(0x0000, r, numa, node_cpus[numa])
        rp = pci.bridge(hb, r, 0x01, "rp", r + 1, link=x16, **intel_rp)
        usp = pci.bridge(rp, r + 1, 0x00, "usp", r + 2, link=x16, **plx)
        dsps = [pci.bridge(usp, r + 2, i, "dsp", sec, link=x16, **plx)
                for i, sec in enumerate((r + 3, r + 4, r + 5, r + 8))]
        gpu_a = pci.add(dsps[0], r + 3, 0, 0, kind="ep", vendor=0x10DE, device=0x2330,
                        cls=0x030200, driver="nvidia", link=x16, subsys=(0x10DE, 0x16C1))
        nic_a = pci.add(dsps[1], r + 4, 0, 0, kind="ep", vendor=0x15B3, device=0x1021,
                        cls=0x020000, driver="mlx5_core", link=x16, subsys=(0x15B3, 0x0041))
        usp2 = pci.bridge(dsps[2], r + 5, 0x00, "usp", r + 6, link=x16, **plx)
        dsp2 = pci.bridge(usp2, r + 6, 0x00, "dsp", r + 7, link=x16, **plx)
        gpu_b = pci.add(dsp2, r + 7, 0, 0, kind="ep", vendor=0x10DE, device=0x2330, cls=0x030200,
                        driver="nvidia", link=x16, subsys=(0x10DE, 0x16C1))
        nic_b = pci.add(dsps[3], r + 8, 0, 0, kind="ep", vendor=0x15B3, device=0x1021,
                        cls=0x020000, driver="mlx5_core", link=x16, subsys=(0x15B3, 0x0041))
        gpus += [gpu_a, gpu_b]
        nics += [nic_a, nic_b]
    pci.write(t)

    write_virtual_basics(t)
    addrs = [("lo", "127.0.0.1/8"), ("lo", "::1/128")]
    for i, fn in enumerate(nics):
        netdev = f"enp{fn.bus}s0np0"
        rdma = f"mlx5_{i}"
        mac = f"94:6d:ae:8c:{i:02x}:10"
        ipv4 = f"10.10.{i}.1"
        ipv6 = f"2001:db8:100:{i}::1" if i == 5 else None
        write_netdev(t, netdev, dev_dir=fn.path, device=fn.path, address=mac, mtu=9000,
                     speed=400000, operstate="up", carrier=1, ifindex=2 + i, phys_port_name="p0")
        write_rdma(t, rdma, fn, netdev=netdev, mac=mac, fw="28.39.1002", active=True,
                   gids=roce_gids(mac, ipv4, ipv6), rate_active="400 Gb/sec (4X NDR)")
        addrs += [(netdev, f"{ipv4}/24")]
        if ipv6:
            addrs += [(netdev, f"{ipv6}/64")]
        addrs += [(netdev, eui64_ll(mac))]
    write_addresses(t, addrs)

    infos = [(g.bdf, gpu_information("NVIDIA H100 80GB HBM3",
                                     f"GPU-0c6d1e2f-3a4b-5c6d-7e8f-9a0b1c2d3e{i:02x}", g.bdf, i,
                                     "96.00.74.00.0D"))
             for i, g in enumerate(gpus)]
    write_system(t, hostname="dgx-h100-01", os_release=UBUNTU_2204, kernel="5.15.0-1042-nvidia",
                 uptime="864000.12 190080000.50",
                 meminfo=meminfo(2_113_291_884, 1_987_554_012, 2_061_220_336, 0), nodes=node_cpus,
                 driver=("535.183.01", "x86_64",
                         "gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)", infos))
    return gpus, nics, []


# ----------------------------------------------------------------------------- VM

def build_vm():
    t = Tree("vm")
    pci = Pci()
    hb = HostBridge(0x0000, 0x00, -1, "0-3")
    # QEMU i440fx: conventional PCI on the root bus, no root ports, no PCIe link attributes.
    pci.add(hb, 0x00, 0x00, 0, kind="ep", vendor=0x8086, device=0x1237, cls=0x060000,
            subsys=(0x1AF4, 0x1100))
    pci.add(hb, 0x00, 0x02, 0, kind="ep", vendor=0x1234, device=0x1111, cls=0x030000,
            driver="bochs-drm", subsys=(0x1AF4, 0x1100))
    nic = pci.add(hb, 0x00, 0x03, 0, kind="ep", vendor=0x1AF4, device=0x1000, cls=0x020000,
                  driver="virtio-pci", subsys=(0x1AF4, 0x0001))
    pci.write(t)
    vdev = f"{nic.path}/virtio0"
    t.put(f"{vdev}/vendor", "0x1af4")
    t.put(f"{vdev}/device", "0x0001")
    t.link(f"{vdev}/driver", "/sys/bus/virtio/drivers/virtio_net")
    t.link("/sys/bus/virtio/drivers/virtio_net/virtio0", vdev)
    t.link("/sys/bus/virtio/devices/virtio0", vdev)

    write_virtual_basics(t)
    mac = "52:54:00:12:34:56"
    write_netdev(t, "ens3", dev_dir=vdev, device=vdev, address=mac, mtu=1500, speed=-1,
                 operstate="up", carrier=1, ifindex=2)
    write_addresses(t, [("lo", "127.0.0.1/8"), ("lo", "::1/128"), ("ens3", "10.0.0.5/24"),
                        ("ens3", eui64_ll(mac))])
    write_system(t, hostname="vm-01", os_release=UBUNTU_2204, kernel="5.15.0-119-generic",
                 uptime="3600.00 14000.00", meminfo=meminfo(16_374_936, 13_110_204, 15_002_776, 0),
                 nodes=["0-3"])
    return [], [], []


# ----------------------------------------------------------------------------- expected levels

def level(a, b):
    """Reference rule for the expected matrices (README "Topology rule")."""
    if a is b:
        return "X"
    if a.numa != b.numa and a.numa >= 0 and b.numa >= 0:
        return "SYS"
    if a.hb is not b.hb:
        return "NODE"
    if (a.bus, a.dev) == (b.bus, b.dev):
        return "PIX"  # two functions of one device
    ca, cb = a.chain()[:-1], b.chain()[:-1]  # bridges above each device
    common = [x for x, y in zip(ca, cb) if x is y]
    if not common or common[-1].kind == "rp":
        return "PHB"
    # Switches crossed: upstream ports at or below the meeting switch on either side.
    meet = common[-1]
    meet_usp = meet if meet.kind == "usp" else meet.parent
    crossed = {id(meet_usp)}
    for chain in (ca, cb):
        for x in chain[chain.index(meet_usp):]:
            if x.kind == "usp":
                crossed.add(id(x))
    return "PIX" if len(crossed) == 1 else "PXB"


def print_expected(name, gpus, nics):
    devs = [(f"GPU{i}", g) for i, g in enumerate(gpus)] + [(f"NIC{i}", n) for i, n in enumerate(nics)]
    print(f"== {name}")
    print("      " + "".join(f"{lab:<6}" for lab, _ in devs) + "CPU Affinity      NUMA Affinity")
    for lab, d in devs:
        row = "".join(f"{level(d, e):<6}" for _, e in devs)
        aff = f"{d.cpulist:<18}{d.numa}" if lab.startswith("GPU") else ""
        print(f"{lab:<6}{row}{aff}".rstrip())


def main():
    builders = {"dgx-spark": build_spark, "dgx-h100": build_h100, "vm": build_vm}
    if "--print-expected" in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp:
            Tree.base = tmp  # never touch the committed trees when only printing
            for name in TREES:
                gpus, nics, others = builders[name]()
                if gpus or nics:
                    print_expected(name, gpus, nics)
                if others:
                    print_expected(name + " (plus physical NICs without RDMA)", gpus, nics + others)
        return
    for name in TREES:
        shutil.rmtree(os.path.join(HERE, name), ignore_errors=True)
        builders[name]()


if __name__ == "__main__":
    main()
