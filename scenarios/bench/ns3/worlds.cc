// The benchmark worlds of scenarios/bench/ns3/ in ns-3 (3.37, the distribution's libns3-dev), built
// to be the same worlds netlab runs from line-clean.toml, line-loss.toml, dumbbell-100.toml and
// dumbbell-1000.toml in this directory. README.md says how the two were matched and what differs.
//
//   world=line      h1 -- r1 -- h2, 100 Mbit/s and 5 ms per link, one transfer of `bytes`,
//                   optional random loss on h1 -> r1 (`loss`).
//   world=dumbbell  s_i -- r1 == r2 -- d_i for i < flows: 100 Mbit/s / 5 ms access links, a 1 Gbit/s /
//                   10 ms bottleneck; flow i (s_i -> d_i, `bytes` each) starts at i * 100 ms / flows.
//
// Every link direction holds `queue` packets (the one being serialised included, as in netlab).
// Each transfer ends as netlab's bulk app ends: the sender writes its bytes and closes; the sink
// reads until the sender's FIN and closes; the transfer is complete when the sink's FIN reaches the
// sender. The program prints `key value` lines (see PrintResults) and exits non-zero if a transfer
// did not complete or the sink counted a different number of bytes than were sent.
//
// Build (scenarios/bench/ns3/compare.py does this):
//   g++ -O2 -std=c++17 worlds.cc -o worlds -lns3-core -lns3-network -lns3-internet \
//       -lns3-point-to-point -lns3-applications -lns3-traffic-control

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

using namespace ns3;

namespace
{

/// NewReno's window as RFC 5681 writes it and netlab implements it. Slow start is ns-3's TcpNewReno
/// unchanged (cwnd += one segment per ACK of new data: eq. 2 with L = 1 SMSS). Two changes:
/// - congestion avoidance counts bytes (RFC 3465): one segment per cwnd of acknowledged data.
///   ns-3's TcpNewReno adds SMSS^2 / cwnd per ACK, half as fast behind a delayed-ACK receiver;
/// - ssthresh after a loss is max(FlightSize / 2, 2 SMSS) with FlightSize = SND.MAX - SND.UNA
///   (eq. 4). ns-3 passes RFC 6675's pipe, which leaves out what the receiver SACKed: after a
///   slow-start overshoot that halves a window already much smaller than what is in flight.
class ByteCountingReno : public TcpNewReno
{
  public:
    static TypeId GetTypeId()
    {
        static TypeId tid = TypeId("ns3::NetlabBenchByteCountingReno")
                                .SetParent<TcpNewReno>()
                                .SetGroupName("Internet")
                                .AddConstructor<ByteCountingReno>();
        return tid;
    }

    ByteCountingReno() = default;

    ByteCountingReno(const ByteCountingReno& other)
        : TcpNewReno(other),
          m_acked(other.m_acked)
    {
    }

    std::string GetName() const override
    {
        return "ByteCountingReno";
    }

    Ptr<TcpCongestionOps> Fork() override
    {
        return CopyObject<ByteCountingReno>(this);
    }

    uint32_t GetSsThresh(Ptr<const TcpSocketState> tcb, uint32_t) override
    {
        uint32_t flight = tcb->m_highTxMark.Get() - tcb->m_lastAckedSeq;
        return std::max(2 * tcb->m_segmentSize, flight / 2);
    }

  protected:
    void CongestionAvoidance(Ptr<TcpSocketState> tcb, uint32_t segmentsAcked) override
    {
        m_acked += static_cast<uint64_t>(segmentsAcked) * tcb->m_segmentSize;
        uint32_t cwnd = tcb->m_cWnd;
        if (m_acked >= cwnd)
        {
            m_acked -= cwnd;
            tcb->m_cWnd = cwnd + tcb->m_segmentSize;
        }
    }

  private:
    uint64_t m_acked{0}; //!< bytes acknowledged in congestion avoidance since cwnd last grew
};

NS_OBJECT_ENSURE_REGISTERED(ByteCountingReno);

/// One transfer: sender state, what the sink counted, and when it ended.
struct Flow
{
    Ptr<Node> src;
    Ipv4Address dst;
    Time start;
    uint64_t total{0};
    uint64_t written{0};
    uint64_t received{0};
    bool closed{false};
    Time done{-1};
    SequenceNumber32 highest{0}; //!< end of the highest data sent
    bool sentData{false};
};

/// What the senders and the queues did, summed over all flows (for checking the worlds agree).
struct Counters
{
    uint64_t retransmissions{0}; //!< data segments sent again
    uint64_t recoveries{0};      //!< entries into fast recovery
    uint64_t timeouts{0};        //!< entries into loss state (retransmission timeouts)
    uint64_t queueDrops{0};      //!< packets dropped by full queues, all links
    uint64_t bottleneckDrops{0}; //!< of which at r1 -> r2 (dumbbell) or r1 -> h2 (line)
};

Counters g_count;

std::vector<Flow> g_flows;
uint32_t g_finished = 0;
const uint16_t kPort = 5001;
uint32_t g_sendBuffer = 0; // bytes
bool g_writeWake = true;

/// Fills the send buffer with (virtual, zero-filled) payload until `total` bytes are written, then
/// closes: ns-3 sends the FIN once the buffer has drained.
///
/// ns-3 calls this on every ACK that frees buffer space. netlab (like Linux's
/// sk_stream_write_space) wakes a blocked writer only once min(queued / 2, 64 KiB) is free, so
/// with `g_writeWake` the writer here waits for that much too: the sender then keeps the same
/// amount of data in flight when the send buffer is the limit (the 256 KiB line worlds).
void
Fill(uint32_t i, Ptr<Socket> s)
{
    Flow& f = g_flows[i];
    bool first = true;
    while (f.written < f.total)
    {
        uint32_t room = s->GetTxAvailable();
        uint32_t queued = g_sendBuffer > room ? g_sendBuffer - room : 0;
        if (room == 0 || (first && g_writeWake && room < std::min<uint32_t>(queued / 2, 65536)))
        {
            return;
        }
        first = false;
        uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(room, f.total - f.written));
        int sent = s->Send(Create<Packet>(n));
        if (sent <= 0)
        {
            return;
        }
        f.written += static_cast<uint32_t>(sent);
    }
    if (!f.closed)
    {
        f.closed = true;
        s->Close();
    }
}

/// The transfer is over when the sender leaves FIN-WAIT for TIME-WAIT (or CLOSED): the sink's FIN
/// has arrived. This is the moment netlab's bulk sender finishes.
void
StateChanged(uint32_t i, TcpSocket::TcpStates_t, TcpSocket::TcpStates_t now)
{
    Flow& f = g_flows[i];
    if (f.done.IsNegative() && f.closed && (now == TcpSocket::TIME_WAIT || now == TcpSocket::CLOSED))
    {
        f.done = Simulator::Now();
        if (++g_finished == g_flows.size())
        {
            Simulator::Stop();
        }
    }
}

void
Transmitted(uint32_t i, Ptr<const Packet> p, const TcpHeader& h, Ptr<const TcpSocketBase>)
{
    Flow& f = g_flows[i];
    if (p->GetSize() == 0)
    {
        return;
    }
    SequenceNumber32 end = h.GetSequenceNumber() + p->GetSize();
    if (f.sentData && h.GetSequenceNumber() < f.highest)
    {
        ++g_count.retransmissions;
    }
    if (!f.sentData || end > f.highest)
    {
        f.highest = end;
        f.sentData = true;
    }
}

void
CongStateChanged(TcpSocketState::TcpCongState_t, TcpSocketState::TcpCongState_t now)
{
    if (now == TcpSocketState::CA_RECOVERY)
    {
        ++g_count.recoveries;
    }
    else if (now == TcpSocketState::CA_LOSS)
    {
        ++g_count.timeouts;
    }
}

void
QueueDrop(bool bottleneck, Ptr<const Packet>)
{
    ++g_count.queueDrops;
    g_count.bottleneckDrops += bottleneck;
}

void
SendSpace(uint32_t i, Ptr<Socket> s, uint32_t)
{
    Fill(i, s);
}

void
StartFlow(uint32_t i)
{
    Flow& f = g_flows[i];
    Ptr<Socket> s = Socket::CreateSocket(f.src, TcpSocketFactory::GetTypeId());
    s->TraceConnectWithoutContext("State", MakeBoundCallback(&StateChanged, i));
    s->TraceConnectWithoutContext("Tx", MakeBoundCallback(&Transmitted, i));
    s->TraceConnectWithoutContext("CongState", MakeCallback(&CongStateChanged));
    s->Bind();
    s->SetConnectCallback(MakeBoundCallback(&Fill, i), MakeNullCallback<void, Ptr<Socket>>());
    s->SetSendCallback(MakeBoundCallback(&SendSpace, i));
    s->Connect(InetSocketAddress(f.dst, kPort));
}

/// Sink: reads everything as it arrives; closes when the sender's FIN has been read.
void
SinkRead(uint32_t i, Ptr<Socket> s)
{
    for (Ptr<Packet> p = s->Recv(); p && p->GetSize() > 0; p = s->Recv())
    {
        g_flows[i].received += p->GetSize();
    }
}

void
SinkPeerClosed(Ptr<Socket> s)
{
    s->Close();
}

void
SinkAccepted(uint32_t i, Ptr<Socket> s, const Address&)
{
    s->SetRecvCallback(MakeBoundCallback(&SinkRead, i));
    s->SetCloseCallbacks(MakeCallback(&SinkPeerClosed), MakeNullCallback<void, Ptr<Socket>>());
}

void
Listen(uint32_t i, Ptr<Node> node)
{
    Ptr<Socket> l = Socket::CreateSocket(node, TcpSocketFactory::GetTypeId());
    l->Bind(InetSocketAddress(Ipv4Address::GetAny(), kPort));
    l->Listen();
    l->SetAcceptCallback(MakeNullCallback<bool, Ptr<Socket>, const Address&>(),
                         MakeBoundCallback(&SinkAccepted, i));
}

/// Simulation parameters (all settable on the command line).
struct Params
{
    std::string world = "line";
    uint32_t flows = 100;
    uint64_t bytes = 0; // 0: the world's default (100 MB line, 1 MB per dumbbell flow)
    double loss = 0.0;
    uint32_t queue = 100;
    uint32_t buffer = 0; // 0: the world's default (256 KiB line, 1 MiB dumbbell)
    uint32_t seed = 1;
    std::string recovery = "prr";
    std::string cc = "bytecounting";
    bool matchFraming = true;
    bool writeWake = true;
};

/// A link rate scaled so that a frame takes as long as the same frame in netlab, which serialises
/// a 14-byte Ethernet header where ns-3's point-to-point device adds a 2-byte PPP header: a full
/// data segment (1500-byte IP packet) occupies the link 1514 / 1500 vs 1502 / 1500 of its size.
DataRate
LinkRate(uint64_t bps, const Params& p)
{
    if (!p.matchFraming)
    {
        return DataRate(bps);
    }
    return DataRate(bps * 1502 / 1514);
}

/// One point-to-point link: a drop-tail device queue of `queue` packets in each direction, no
/// queue disc (ns-3 installs one on address assignment; removed below).
NetDeviceContainer
Connect(Ptr<Node> a, Ptr<Node> b, uint64_t bps, const char* delay, const Params& p)
{
    PointToPointHelper link;
    link.SetDeviceAttribute("DataRate", DataRateValue(LinkRate(bps, p)));
    link.SetChannelAttribute("Delay", StringValue(delay));
    // ns-3's device queue excludes the packet on the wire; netlab's queue limit includes it.
    link.SetQueue("ns3::DropTailQueue<Packet>",
                  "MaxSize",
                  QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, p.queue - 1)));
    return link.Install(a, b);
}

/// Counts the packets dropped because a device queue was full. Without a queue disc the traffic
/// control layer drops them (the device stops its queue when full), so the count is per node;
/// at `bottleneck` (r1) they are the drops into the bottleneck (dumbbell) or r1 -> h2 (line): the
/// queues toward the senders carry only ACKs.
void
CountDrops(NodeContainer nodes, Ptr<Node> bottleneck)
{
    for (uint32_t k = 0; k < nodes.GetN(); ++k)
    {
        Ptr<TrafficControlLayer> tc = nodes.Get(k)->GetObject<TrafficControlLayer>();
        bool ok = tc->TraceConnectWithoutContext(
            "TcDrop",
            MakeBoundCallback(&QueueDrop, nodes.Get(k) == bottleneck));
        NS_ABORT_MSG_UNLESS(ok, "no TcDrop trace source on the traffic control layer");
    }
}

/// Numbers a link made by Connect(a, b) from the helper's next network as the netlab files do (b,
/// the router side, gets .1; a gets .2) and removes the queue disc ns-3 put on it. Returns the
/// addresses: index 0 is b's, index 1 is a's.
Ipv4InterfaceContainer
Address(NetDeviceContainer devs, Ipv4AddressHelper& addrs)
{
    NetDeviceContainer swapped;
    swapped.Add(devs.Get(1));
    swapped.Add(devs.Get(0));
    Ipv4InterfaceContainer ifs = addrs.Assign(swapped);
    addrs.NewNetwork();
    TrafficControlHelper tch;
    tch.Uninstall(devs);
    return ifs;
}

Ptr<Ipv4StaticRouting>
StaticRouting(Ptr<Node> n)
{
    Ipv4StaticRoutingHelper helper;
    return helper.GetStaticRouting(n->GetObject<Ipv4>());
}

void
ConfigureTcp(const Params& p, uint32_t buffer)
{
    TypeId cc = p.cc == "newreno"     ? TcpNewReno::GetTypeId()
                : p.cc == "linuxreno" ? TcpLinuxReno::GetTypeId()
                                      : ByteCountingReno::GetTypeId();
    Config::SetDefault("ns3::TcpL4Protocol::SocketType", TypeIdValue(cc));
    Config::SetDefault("ns3::TcpL4Protocol::RecoveryType",
                       TypeIdValue(p.recovery == "prr" ? TcpPrrRecovery::GetTypeId()
                                                       : TcpClassicRecovery::GetTypeId()));
    // netlab announces MSS 1460 and, with timestamps, carries 1448 bytes per segment (a 1500-byte
    // IP packet); ns-3's SegmentSize is the payload itself.
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(1448));
    Config::SetDefault("ns3::TcpSocket::InitialCwnd", UintegerValue(10));
    Config::SetDefault("ns3::TcpSocket::DelAckCount", UintegerValue(2));
    Config::SetDefault("ns3::TcpSocket::DelAckTimeout", TimeValue(MilliSeconds(40)));
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(buffer));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(buffer));
    Config::SetDefault("ns3::TcpSocket::TcpNoDelay", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocket::ConnTimeout", TimeValue(Seconds(1)));
    Config::SetDefault("ns3::TcpSocketBase::MinRto", TimeValue(MilliSeconds(200)));
    Config::SetDefault("ns3::TcpSocketBase::Sack", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocketBase::Timestamp", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocketBase::WindowScaling", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocketBase::LimitedTransmit", BooleanValue(true));
    Config::SetDefault("ns3::RttEstimator::InitialEstimation", TimeValue(Seconds(1)));
}

void
BuildLine(const Params& p)
{
    NodeContainer n;
    n.Create(3); // h1, r1, h2
    InternetStackHelper stack;
    stack.SetRoutingHelper(Ipv4StaticRoutingHelper());
    stack.Install(n);
    Ipv4AddressHelper addrs;
    addrs.SetBase("10.0.1.0", "255.255.255.0");
    NetDeviceContainer l1 = Connect(n.Get(0), n.Get(1), 100000000, "5ms", p);
    Ipv4InterfaceContainer i1 = Address(l1, addrs);
    addrs.SetBase("10.0.2.0", "255.255.255.0");
    NetDeviceContainer l2 = Connect(n.Get(2), n.Get(1), 100000000, "5ms", p);
    CountDrops(n, n.Get(1));
    Ipv4InterfaceContainer i2 = Address(l2, addrs);
    StaticRouting(n.Get(0))->SetDefaultRoute(i1.GetAddress(0), 1);
    StaticRouting(n.Get(2))->SetDefaultRoute(i2.GetAddress(0), 1);
    if (p.loss > 0)
    {
        Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
        em->SetUnit(RateErrorModel::ERROR_UNIT_PACKET);
        em->SetRate(p.loss);
        l1.Get(1)->SetAttribute("ReceiveErrorModel", PointerValue(em)); // h1 -> r1 only
    }
    Flow f;
    f.src = n.Get(0);
    f.dst = i2.GetAddress(1);
    f.start = Seconds(0);
    f.total = p.bytes ? p.bytes : 100000000;
    g_flows.push_back(f);
    Listen(0, n.Get(2));
}

void
BuildDumbbell(const Params& p)
{
    NodeContainer routers;
    routers.Create(2);
    NodeContainer senders;
    senders.Create(p.flows);
    NodeContainer sinks;
    sinks.Create(p.flows);
    InternetStackHelper stack;
    stack.SetRoutingHelper(Ipv4StaticRoutingHelper());
    stack.Install(routers);
    stack.Install(senders);
    stack.Install(sinks);
    Ptr<Node> r1 = routers.Get(0);
    Ptr<Node> r2 = routers.Get(1);

    Ipv4AddressHelper addrs;
    addrs.SetBase("10.0.0.0", "255.255.255.252");
    NetDeviceContainer bottleneck = Connect(r2, r1, 1000000000, "10ms", p);
    CountDrops(NodeContainer(routers, senders, sinks), r1);
    Ipv4InterfaceContainer ib = Address(bottleneck, addrs); // r1 10.0.0.1, r2 10.0.0.2
    uint32_t r1Bottleneck = r1->GetObject<Ipv4>()->GetInterfaceForDevice(bottleneck.Get(1));
    uint32_t r2Bottleneck = r2->GetObject<Ipv4>()->GetInterfaceForDevice(bottleneck.Get(0));
    StaticRouting(r1)->AddNetworkRouteTo("10.2.0.0", "255.255.0.0", ib.GetAddress(1), r1Bottleneck);
    StaticRouting(r2)->AddNetworkRouteTo("10.1.0.0", "255.255.0.0", ib.GetAddress(0), r2Bottleneck);

    addrs.SetBase("10.1.0.0", "255.255.255.252");
    for (uint32_t i = 0; i < p.flows; ++i)
    {
        Ipv4InterfaceContainer is = Address(Connect(senders.Get(i), r1, 100000000, "5ms", p), addrs);
        StaticRouting(senders.Get(i))->SetDefaultRoute(is.GetAddress(0), 1);
    }
    addrs.SetBase("10.2.0.0", "255.255.255.252");
    for (uint32_t i = 0; i < p.flows; ++i)
    {
        Ipv4InterfaceContainer id = Address(Connect(sinks.Get(i), r2, 100000000, "5ms", p), addrs);
        StaticRouting(sinks.Get(i))->SetDefaultRoute(id.GetAddress(0), 1);
        Flow f;
        f.src = senders.Get(i);
        f.dst = id.GetAddress(1);
        f.start = MicroSeconds(static_cast<uint64_t>(i) * 100000 / p.flows);
        f.total = p.bytes ? p.bytes : 1000000;
        g_flows.push_back(f);
        Listen(i, sinks.Get(i));
    }
}

/// Prints the results as `key value` lines; returns whether every transfer completed intact.
bool
PrintResults()
{
    uint64_t sent = 0;
    uint64_t got = 0;
    uint32_t intact = 0;
    double last = 0;
    std::vector<double> durations;
    for (const Flow& f : g_flows)
    {
        sent += f.total;
        got += f.received;
        if (!f.done.IsNegative())
        {
            last = std::max(last, f.done.GetSeconds());
            durations.push_back((f.done - f.start).GetSeconds());
            intact += f.received == f.total;
        }
    }
    std::sort(durations.begin(), durations.end());
    auto quantile = [&durations](double q) {
        return durations.empty() ? 0.0 : durations[static_cast<size_t>(q * (durations.size() - 1))];
    };
    std::printf("flows %zu\n", g_flows.size());
    std::printf("flows_completed %zu\n", durations.size());
    std::printf("flows_intact %u\n", intact);
    std::printf("bytes_sent %llu\n", static_cast<unsigned long long>(sent));
    std::printf("bytes_received %llu\n", static_cast<unsigned long long>(got));
    std::printf("completion_s %.6f\n", last);
    std::printf("flow_s_p10 %.6f\n", quantile(0.1));
    std::printf("flow_s_p50 %.6f\n", quantile(0.5));
    std::printf("flow_s_p90 %.6f\n", quantile(0.9));
    std::printf("goodput_mbps %.3f\n", last > 0 ? got * 8.0 / last / 1e6 : 0.0);
    std::printf("retransmissions %llu\n", static_cast<unsigned long long>(g_count.retransmissions));
    std::printf("recoveries %llu\n", static_cast<unsigned long long>(g_count.recoveries));
    std::printf("timeouts %llu\n", static_cast<unsigned long long>(g_count.timeouts));
    std::printf("queue_drops %llu\n", static_cast<unsigned long long>(g_count.queueDrops));
    std::printf("bottleneck_drops %llu\n", static_cast<unsigned long long>(g_count.bottleneckDrops));
    return intact == g_flows.size();
}

} // namespace

int
main(int argc, char* argv[])
{
    Params p;
    CommandLine cmd(__FILE__);
    cmd.AddValue("world", "line or dumbbell", p.world);
    cmd.AddValue("flows", "dumbbell: number of flows", p.flows);
    cmd.AddValue("bytes", "bytes per transfer (0: 100 MB line, 1 MB dumbbell)", p.bytes);
    cmd.AddValue("loss", "line: packet loss probability on h1 -> r1", p.loss);
    cmd.AddValue("queue", "packets per link direction, the one on the wire included", p.queue);
    cmd.AddValue("buffer", "socket send and receive buffer, bytes (0: 256 KiB line, 1 MiB dumbbell)",
                 p.buffer);
    cmd.AddValue("seed", "run number of ns-3's random streams", p.seed);
    cmd.AddValue("recovery", "prr (RFC 6937) or classic (RFC 6675 as written)", p.recovery);
    cmd.AddValue("cc", "bytecounting (as netlab), newreno or linuxreno (ns-3's own)", p.cc);
    cmd.AddValue("matchFraming", "scale link rates for netlab's 14-byte frame header", p.matchFraming);
    cmd.AddValue("writeWake", "wake the writer as netlab does (min(queued/2, 64 KiB) free)", p.writeWake);
    cmd.Parse(argc, argv);
    if (p.world != "line" && p.world != "dumbbell")
    {
        std::fprintf(stderr, "error: --world must be line or dumbbell, not %s\n", p.world.c_str());
        return 2;
    }
    if (p.queue < 2 || p.flows == 0)
    {
        std::fprintf(stderr, "error: --queue must be at least 2 and --flows at least 1\n");
        return 2;
    }
    RngSeedManager::SetRun(p.seed);
    uint32_t buffer = p.buffer ? p.buffer : (p.world == "line" ? 262144 : 1048576);
    ConfigureTcp(p, buffer);
    g_sendBuffer = buffer;
    g_writeWake = p.writeWake;
    if (p.world == "line")
    {
        BuildLine(p);
    }
    else
    {
        BuildDumbbell(p);
    }
    for (uint32_t i = 0; i < g_flows.size(); ++i)
    {
        Simulator::Schedule(g_flows[i].start, &StartFlow, i);
    }
    Simulator::Stop(Seconds(600));
    Simulator::Run();
    bool ok = PrintResults();
    Simulator::Destroy();
    return ok ? 0 : 1;
}
