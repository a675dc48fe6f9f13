// netlab_adapter.cc: a CS144 minnow TCP (TCPPeer = your TCPSender + TCPReceiver) as the transport
// layer of a netlab host, speaking netlab's external stack protocol, version 1
// (docs/stack-protocol.md in the netlab repository) on stdin/stdout.
//
// netlab sends the host's addresses, then steps: the simulated time, IPv4 datagrams for the host and
// the applications' socket calls. This program parses the datagrams with minnow's own IPv4Datagram
// and TCPSegment, gives each connection's segments to its TCPPeer, drives the peers' timers with
// tick(ms) from netlab's clock only (never a wall clock, so runs replay bit for bit), and answers with
// the segments the peers sent, the calls' results, socket readiness and the next wake-up.
//
// One TCPPeer per connection. listen = wait for SYNs on a port; each SYN makes a new TCPPeer, which
// becomes acceptable once the handshake completes. Segments for no socket are answered with a RST
// (RFC 9293 section 3.10.7.1), as any host does.
//
// Build: see README.md next to this file (it is compiled inside your minnow tree, with its flags).

#include "ipv4_datagram.hh"
#include "ipv4_header.hh"
#include "parser.hh"
#include "tcp_config.hh"
#include "tcp_peer.hh"
#include "tcp_segment.hh"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

constexpr uint16_t PROTOCOL_VERSION = 1;
constexpr uint32_t MAX_MESSAGE = 16U * 1024U * 1024U;
constexpr uint64_t NO_WAKE = UINT64_MAX;
constexpr uint64_t NS_PER_MS = 1'000'000;

// Message types (docs/stack-protocol.md sections 3 and 4).
enum : uint8_t
{
  HELLO = 0x01,
  TIME = 0x02,
  DATAGRAM_IN = 0x03,
  CALL = 0x04,
  TIMEOUT = 0x05,
  END = 0x06,
  TRANSMIT = 0x07,
  READY = 0x81,
  DATAGRAM_OUT = 0x83,
  RESULT = 0x84,
  EVENT = 0x85,
  WAKE = 0x87,
  DONE = 0x88,
  FAIL = 0x8f,
};

// Socket calls (section 5), RESULT statuses and error codes (section 1), EVENT flags (section 6).
enum : uint8_t
{
  OP_LISTEN = 1,
  OP_ACCEPT,
  OP_CONNECT,
  OP_SEND,
  OP_RECV,
  OP_SHUTDOWN_WRITE,
  OP_CLOSE,
  OP_ABORT,
  OP_SEND_SPACE
};
enum : uint8_t
{
  STATUS_OK = 0,
  STATUS_WOULD_BLOCK = 1,
  STATUS_ERROR = 2
};
enum : uint8_t
{
  E_NONE = 0,
  E_REFUSED = 1,
  E_RESET = 2,
  E_TIMED_OUT = 3,
  E_NOT_CONNECTED = 4,
  E_ADDR_IN_USE = 5,
  E_INVALID_SOCKET = 6,
  E_CLOSING = 7,
  E_INVALID_ARGUMENT = 8
};
enum : uint8_t
{
  READABLE = 1,
  WRITABLE = 2,
  CONNECTED = 4,
  ACCEPTABLE = 8,
  FREED = 16
};

// A malformed message from netlab: the adapter answers FAIL and exits.
class ProtocolError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// A socket call that fails with an error code.
struct CallError
{
  uint8_t code;
};

// accept or recv with nothing waiting.
struct WouldBlock
{};

// ---------------------------------------------------------------------------------- byte fields

// Reads the fields of one message body (big-endian).
class Body
{
  std::string_view data_;
  size_t pos_ = 0;
  std::string_view what_;

public:
  Body( std::string_view data, std::string_view what ) : data_( data ), what_( what ) {}

  std::string_view take( size_t n )
  {
    if ( pos_ + n > data_.size() ) {
      throw ProtocolError( std::string( what_ ) + ": body too short" );
    }
    const auto out = data_.substr( pos_, n );
    pos_ += n;
    return out;
  }
  uint64_t uint( size_t n )
  {
    uint64_t v = 0;
    for ( const unsigned char c : take( n ) ) {
      v = ( v << 8 ) | c;
    }
    return v;
  }
  uint8_t u8() { return static_cast<uint8_t>( uint( 1 ) ); }
  uint16_t u16() { return static_cast<uint16_t>( uint( 2 ) ); }
  uint32_t u32() { return static_cast<uint32_t>( uint( 4 ) ); }
  uint64_t u64() { return uint( 8 ); }
  std::string_view rest()
  {
    const auto out = data_.substr( pos_ );
    pos_ = data_.size();
    return out;
  }
  void finish() const
  {
    if ( pos_ != data_.size() ) {
      throw ProtocolError( std::string( what_ ) + ": body too long" );
    }
  }
};

// Appends big-endian integers and whole messages to an answer.
class Out
{
  std::string buf_ {};

public:
  void uint( uint64_t v, size_t n )
  {
    for ( size_t i = n; i > 0; i-- ) {
      buf_.push_back( static_cast<char>( ( v >> ( 8 * ( i - 1 ) ) ) & 0xff ) );
    }
  }
  // One message: u32 length (type + body), u8 type, body.
  void message( uint8_t type, std::string_view body )
  {
    uint( body.size() + 1, 4 );
    uint( type, 1 );
    buf_.append( body );
  }
  std::string take() { return std::exchange( buf_, {} ); }
};

std::string be( uint64_t v, size_t n )
{
  Out o;
  o.uint( v, n );
  return o.take();
}

// ------------------------------------------------------------------------------------- stdin/out

std::optional<std::string> read_exact( size_t n, bool eof_ok )
{
  std::string s( n, '\0' );
  size_t got = 0;
  while ( got < n ) {
    const ssize_t r = ::read( STDIN_FILENO, s.data() + got, n - got );
    if ( r < 0 and errno == EINTR ) {
      continue;
    }
    if ( r <= 0 ) {
      if ( got == 0 and eof_ok ) {
        return std::nullopt;
      }
      throw ProtocolError( "end of input inside a message" );
    }
    got += static_cast<size_t>( r );
  }
  return s;
}

// The next message (type, body); nullopt when netlab closed stdin at a message boundary.
std::optional<std::pair<uint8_t, std::string>> read_message()
{
  const auto head = read_exact( 4, true );
  if ( not head ) {
    return std::nullopt;
  }
  const uint32_t len = static_cast<uint32_t>( Body( *head, "length" ).u32() );
  if ( len < 1 or len > MAX_MESSAGE ) {
    throw ProtocolError( "message length " + std::to_string( len ) + " out of range" );
  }
  auto rest = read_exact( len, false ).value();
  const auto type = static_cast<uint8_t>( rest[0] );
  return std::make_pair( type, rest.substr( 1 ) );
}

void write_all( std::string_view data )
{
  while ( not data.empty() ) {
    const ssize_t w = ::write( STDOUT_FILENO, data.data(), data.size() );
    if ( w < 0 and errno == EINTR ) {
      continue;
    }
    if ( w <= 0 ) {
      throw std::runtime_error( "cannot write to stdout" );
    }
    data.remove_prefix( static_cast<size_t>( w ) );
  }
}

// ------------------------------------------------------------------------------------ addresses

struct Endpoint
{
  uint32_t ip = 0;
  uint16_t port = 0;
  bool operator==( const Endpoint& o ) const { return ip == o.ip and port == o.port; }
};

Endpoint read_addr( Body& b )
{
  const uint32_t ip = b.u32();
  return { ip, b.u16() };
}

// Wrap32's raw value (the class keeps it protected).
class RawWrap32 : public Wrap32
{
public:
  explicit RawWrap32( Wrap32 w ) : Wrap32( w ) {}
  uint32_t raw() const { return raw_value_; }
};

// Deterministic randomness from HELLO's seed (splitmix64): initial sequence numbers.
class SeededRng
{
  uint64_t state_ = 0;

public:
  void seed( uint64_t s ) { state_ = s; }
  uint64_t next()
  {
    uint64_t z = ( state_ += 0x9e3779b97f4a7c15ULL );
    z = ( z ^ ( z >> 30 ) ) * 0xbf58476d1ce4e5b9ULL;
    z = ( z ^ ( z >> 27 ) ) * 0x94d049bb133111ebULL;
    return z ^ ( z >> 31 );
  }
};

// The TCP tunables of HELLO / CALL (`config`, 72 bytes); the adapter honours the ones minnow has.
struct Tunables
{
  uint32_t send_buffer = TCPConfig::DEFAULT_CAPACITY;
  uint32_t recv_buffer = TCPConfig::DEFAULT_CAPACITY;
  uint64_t rto_initial_ns = TCPConfig::TIMEOUT_DFLT * NS_PER_MS;
  uint32_t max_retransmissions = TCPConfig::MAX_RETX_ATTEMPTS;
  uint32_t max_syn_retransmissions = TCPConfig::MAX_RETX_ATTEMPTS;
};

Tunables read_config( Body& b )
{
  Body c( b.take( 72 ), "config" );
  Tunables t;
  t.send_buffer = c.u32();
  t.recv_buffer = c.u32();
  c.take( 2 + 1 + 1 + 8 + 8 + 8 ); // mss, flags, congestion control, delayed ACK, rto_min, rto_max
  t.rto_initial_ns = c.u64();
  t.max_retransmissions = c.u32();
  t.max_syn_retransmissions = c.u32();
  c.take( 8 + 8 + 4 ); // msl, keepalive, initial window
  return t;
}

std::optional<Tunables> read_optional_config( Body& b )
{
  const uint8_t tag = b.u8();
  if ( tag > 1 ) {
    throw ProtocolError( "config? tag " + std::to_string( tag ) );
  }
  return tag == 1 ? std::optional<Tunables> { read_config( b ) } : std::nullopt;
}

// --------------------------------------------------------------------------------------- sockets

struct Connection
{
  std::unique_ptr<TCPPeer> peer {};
  Endpoint local {};
  Endpoint remote {};
  Wrap32 isn { 0 };
  Tunables tun {};
  uint32_t listener = 0;     // the listener it came from (0: active open)
  bool accepted = false;     // given to the application (an active open always is)
  bool app_closed = false;   // the application called close: free it when it is done
  bool established = false;  // our SYN was acknowledged and we have the peer's SYN
  uint8_t error = E_NONE;    // why it failed (refused, reset, timed out)
};

struct Listener
{
  Endpoint local {};
  uint32_t backlog = 0;
  Tunables tun {};
  std::deque<uint32_t> ready {}; // established, not yet accepted
};

// The host's transport layer: minnow TCPPeers, their sockets, the clock.
class Host
{
  std::vector<uint32_t> addrs_ {};
  Tunables defaults_ {};
  SeededRng rng_ {};
  uint64_t tick_ms_ = 10;
  uint64_t now_ms_ = 0;
  uint16_t next_port_ = 49152;
  uint16_t ip_id_ = 0;
  uint32_t next_socket_ = 1;
  std::map<uint32_t, Connection> conns_ {};
  std::map<uint32_t, Listener> listeners_ {};
  std::map<uint32_t, std::pair<uint8_t, uint8_t>> reported_ {}; // last EVENT: flags, error
  Out answer_ {};

public:
  explicit Host( uint64_t tick_ms ) : tick_ms_( tick_ms ) {}

  void hello( Body& b );
  void step_time( uint64_t now_ns );
  void datagram( std::string_view bytes );
  void call( Body& b );
  std::string finish_step();

private:
  TCPPeer::TransmitFunction transmit_for( uint32_t id );
  void transmit( const Endpoint& local, const Endpoint& remote, const TCPMessage& msg );
  void reset_unknown( const Endpoint& local, const Endpoint& remote, const TCPMessage& msg, size_t payload );
  uint32_t new_connection( const Endpoint& local, const Endpoint& remote, const Tunables& tun, uint32_t listener );
  std::optional<uint32_t> find_connection( const Endpoint& local, const Endpoint& remote ) const;
  std::optional<uint32_t> find_listener( const Endpoint& local ) const;
  void note_ack( Connection& c, const TCPMessage& msg ) const;
  void abort_connection( uint32_t id, uint8_t error );
  void check_connection( uint32_t id );
  std::string do_call( uint8_t op, Body& b );
  std::string do_listen( Body& b );
  std::string do_accept( Body& b );
  std::string do_connect( Body& b );
  std::string do_send( Body& b );
  uint64_t writable_space( Connection& c );
  std::string do_recv( Body& b );
  void do_close( uint32_t id );
  Connection& connection( uint32_t id );
  void report_events();
  uint64_t next_wake() const;
};

void Host::hello( Body& b )
{
  const uint16_t version = b.u16();
  if ( version != PROTOCOL_VERSION ) {
    const std::string why = "unsupported protocol version " + std::to_string( version );
    Out o;
    o.message( FAIL, be( why.size(), 2 ) + why );
    write_all( o.take() );
    std::exit( EXIT_FAILURE );
  }
  rng_.seed( b.u64() );
  b.u16(); // MTU: minnow's segments carry at most TCPConfig::MAX_PAYLOAD_SIZE (1000) bytes
  b.take( b.u16() ); // host name
  const uint8_t n = b.u8();
  for ( uint8_t i = 0; i < n; i++ ) {
    addrs_.push_back( b.u32() );
    b.u8(); // prefix length
  }
  defaults_ = read_config( b );
  b.finish();
  Out o;
  const std::string name = "minnow";
  o.message( READY, be( PROTOCOL_VERSION, 2 ) + be( 0, 1 ) + be( name.size(), 2 ) + name );
  write_all( o.take() );
}

// Time passes: every peer's tick(ms) gets the milliseconds since the last step (netlab's clock).
void Host::step_time( uint64_t now_ns )
{
  const uint64_t now_ms = now_ns / NS_PER_MS;
  if ( now_ms < now_ms_ ) {
    throw ProtocolError( "time went backwards" );
  }
  const uint64_t elapsed = now_ms - now_ms_;
  now_ms_ = now_ms;
  if ( elapsed == 0 ) {
    return;
  }
  for ( auto& [id, c] : conns_ ) {
    c.peer->tick( elapsed, transmit_for( id ) );
  }
}

TCPPeer::TransmitFunction Host::transmit_for( uint32_t id )
{
  return [this, id]( const TCPMessage& msg ) {
    const auto& c = conns_.at( id );
    transmit( c.local, c.remote, msg );
  };
}

// Wraps a TCP message in an IPv4 datagram (minnow's own serialisation) and adds it to the answer.
void Host::transmit( const Endpoint& local, const Endpoint& remote, const TCPMessage& msg )
{
  TCPSegment seg { .message = msg, .udinfo = {} };
  seg.udinfo.src_port = local.port;
  seg.udinfo.dst_port = remote.port;
  IPv4Datagram dgram;
  dgram.header.src = local.ip;
  dgram.header.dst = remote.ip;
  dgram.header.ttl = 64;
  dgram.header.id = ip_id_++;
  dgram.header.len = static_cast<uint16_t>( IPv4Header::LENGTH + 20 + msg.sender.payload.size() );
  seg.compute_checksum( dgram.header.pseudo_checksum() );
  dgram.header.compute_checksum();
  dgram.payload = serialize( seg );
  std::string bytes;
  for ( const auto& s : serialize( dgram ) ) {
    bytes += s;
  }
  answer_.message( DATAGRAM_OUT, bytes );
}

// A segment for no socket gets a RST (RFC 9293 section 3.10.7.1): <SEQ=SEG.ACK><CTL=RST> if it has
// an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. A RST is never answered.
void Host::reset_unknown( const Endpoint& local, const Endpoint& remote, const TCPMessage& msg, size_t payload )
{
  if ( msg.sender.RST ) {
    return;
  }
  TCPMessage rst {};
  rst.sender.RST = true;
  if ( msg.receiver.ackno.has_value() ) {
    rst.sender.seqno = msg.receiver.ackno.value();
  } else {
    const auto len = static_cast<uint32_t>( payload + msg.sender.SYN + msg.sender.FIN );
    rst.receiver.ackno = msg.sender.seqno + len;
  }
  transmit( local, remote, rst );
}

uint32_t Host::new_connection( const Endpoint& local, const Endpoint& remote, const Tunables& tun, uint32_t listener )
{
  TCPConfig cfg;
  cfg.rt_timeout = static_cast<uint16_t>( std::clamp<uint64_t>( tun.rto_initial_ns / NS_PER_MS, 1, 65535 ) );
  cfg.send_capacity = tun.send_buffer;
  cfg.recv_capacity = tun.recv_buffer;
  cfg.isn = Wrap32 { static_cast<uint32_t>( rng_.next() ) };
  const uint32_t id = next_socket_++;
  Connection c;
  c.peer = std::make_unique<TCPPeer>( cfg );
  c.local = local;
  c.remote = remote;
  c.isn = cfg.isn;
  c.tun = tun;
  c.listener = listener;
  c.accepted = listener == 0;
  conns_.emplace( id, std::move( c ) );
  return id;
}

std::optional<uint32_t> Host::find_connection( const Endpoint& local, const Endpoint& remote ) const
{
  for ( const auto& [id, c] : conns_ ) {
    if ( c.peer and c.local == local and c.remote == remote ) {
      return id;
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> Host::find_listener( const Endpoint& local ) const
{
  for ( const auto& [id, l] : listeners_ ) {
    if ( l.local.port == local.port and ( l.local.ip == 0 or l.local.ip == local.ip ) ) {
      return id;
    }
  }
  return std::nullopt;
}

// ESTABLISHED = we have the peer's SYN and it acknowledged ours (an ACK in (ISN, ISN + 2^31)).
void Host::note_ack( Connection& c, const TCPMessage& msg ) const
{
  if ( c.established or msg.sender.RST or not msg.receiver.ackno.has_value() ) {
    return;
  }
  const uint32_t acked = RawWrap32( msg.receiver.ackno.value() ).raw() - RawWrap32( c.isn ).raw();
  if ( acked >= 1 and acked < ( 1U << 31 ) and c.peer->has_ackno() ) {
    c.established = true;
  }
}

// A datagram for this host: TCP goes to its connection, or starts one on a listener, or gets a RST.
void Host::datagram( std::string_view bytes )
{
  IPv4Datagram dgram;
  if ( not parse( dgram, { std::string( bytes ) } ) or dgram.header.proto != IPv4Header::PROTO_TCP ) {
    return; // not TCP (ICMP, UDP): minnow has nothing for it
  }
  TCPSegment seg;
  if ( not parse( seg, dgram.payload, dgram.header.pseudo_checksum() ) ) {
    return; // bad checksum or header
  }
  const Endpoint local { dgram.header.dst, seg.udinfo.dst_port };
  const Endpoint remote { dgram.header.src, seg.udinfo.src_port };
  auto id = find_connection( local, remote );
  if ( not id ) {
    const auto l = find_listener( local );
    const auto& s = seg.message.sender;
    if ( not l or not s.SYN or s.RST or seg.message.receiver.ackno.has_value() ) {
      return reset_unknown( local, remote, seg.message, s.payload.size() );
    }
    auto& lis = listeners_.at( *l );
    size_t waiting = lis.ready.size();
    for ( const auto& [cid, c] : conns_ ) {
      waiting += ( c.listener == *l and not c.accepted and not c.established ) ? 1 : 0;
    }
    if ( waiting >= lis.backlog ) {
      return; // the backlog is full: the SYN is dropped and the peer will retransmit
    }
    id = new_connection( local, remote, lis.tun, *l );
  }
  auto& c = conns_.at( *id );
  c.peer->receive( seg.message, transmit_for( *id ) );
  note_ack( c, seg.message );
}

Connection& Host::connection( uint32_t id )
{
  const auto it = conns_.find( id );
  if ( it == conns_.end() or not it->second.accepted or not it->second.peer ) {
    throw CallError { E_INVALID_SOCKET };
  }
  return it->second;
}

// Sends a RST now (with the receiver's ackno), marks both streams failed, forgets the connection.
void Host::abort_connection( uint32_t id, uint8_t error )
{
  auto& c = conns_.at( id );
  TCPMessage rst { c.peer->sender().make_empty_message(), c.peer->receiver().send() };
  rst.sender.RST = true;
  transmit( c.local, c.remote, rst );
  c.peer->outbound_writer().set_error();
  c.peer->inbound_reader().set_error();
  c.error = error;
}

void Host::call( Body& b )
{
  const uint32_t call_id = b.u32();
  const uint8_t op = b.u8();
  std::string result;
  try {
    result = be( STATUS_OK, 1 ) + do_call( op, b );
  } catch ( const CallError& e ) {
    result = be( STATUS_ERROR, 1 ) + be( e.code, 1 );
  } catch ( const WouldBlock& ) {
    result = be( STATUS_WOULD_BLOCK, 1 );
  }
  b.finish();
  answer_.message( RESULT, be( call_id, 4 ) + result );
}

std::string Host::do_call( uint8_t op, Body& b )
{
  switch ( op ) {
    case OP_LISTEN:
      return do_listen( b );
    case OP_ACCEPT:
      return do_accept( b );
    case OP_CONNECT:
      return do_connect( b );
    case OP_SEND:
      return do_send( b );
    case OP_SEND_SPACE:
      return be( writable_space( connection( b.u32() ) ), 4 );
    case OP_RECV:
      return do_recv( b );
    case OP_SHUTDOWN_WRITE: {
      auto& c = connection( b.u32() );
      if ( c.error != E_NONE ) {
        throw CallError { c.error };
      }
      c.peer->outbound_writer().close(); // the FIN goes after the queued data
      return {};
    }
    case OP_CLOSE:
      do_close( b.u32() );
      return {};
    case OP_ABORT: {
      const uint32_t id = b.u32();
      if ( listeners_.contains( id ) ) {
        do_close( id );
        return {};
      }
      auto& c = connection( id );
      if ( c.error == E_NONE ) {
        abort_connection( id, E_RESET );
      }
      c.app_closed = true;
      c.peer.reset(); // freed at once: the EVENT below says so
      return {};
    }
    default:
      throw ProtocolError( "CALL: unknown op " + std::to_string( op ) );
  }
}

std::string Host::do_listen( Body& b )
{
  const Endpoint local = read_addr( b );
  const uint32_t backlog = b.u32();
  const auto tun = read_optional_config( b ).value_or( defaults_ );
  if ( local.port == 0 ) {
    throw CallError { E_INVALID_ARGUMENT };
  }
  for ( const auto& [id, l] : listeners_ ) {
    if ( l.local.port == local.port and ( l.local.ip == 0 or local.ip == 0 or l.local.ip == local.ip ) ) {
      throw CallError { E_ADDR_IN_USE };
    }
  }
  const uint32_t id = next_socket_++;
  listeners_.emplace( id, Listener { local, std::max<uint32_t>( backlog, 1 ), tun, {} } );
  return be( id, 4 );
}

std::string Host::do_accept( Body& b )
{
  const auto it = listeners_.find( b.u32() );
  if ( it == listeners_.end() ) {
    throw CallError { E_INVALID_SOCKET };
  }
  if ( it->second.ready.empty() ) {
    throw WouldBlock {};
  }
  const uint32_t id = it->second.ready.front();
  it->second.ready.pop_front();
  conns_.at( id ).accepted = true;
  return be( id, 4 );
}

std::string Host::do_connect( Body& b )
{
  Endpoint local = read_addr( b );
  const Endpoint remote = read_addr( b );
  const auto tun = read_optional_config( b ).value_or( defaults_ );
  if ( remote.ip == 0 or remote.port == 0 or addrs_.empty() ) {
    throw CallError { E_INVALID_ARGUMENT };
  }
  if ( local.ip == 0 ) {
    local.ip = addrs_.front();
  }
  if ( local.port == 0 ) {
    // Ephemeral ports in order from 49152, skipping those in use with this remote.
    for ( int tries = 0; tries < 16384; tries++ ) {
      local.port = next_port_;
      next_port_ = next_port_ == 65535 ? 49152 : next_port_ + 1;
      if ( not find_connection( local, remote ) ) {
        break;
      }
    }
  }
  if ( find_connection( local, remote ) ) {
    throw CallError { E_ADDR_IN_USE };
  }
  const uint32_t id = new_connection( local, remote, tun, 0 );
  conns_.at( id ).peer->push( transmit_for( id ) ); // the SYN
  return be( id, 4 );
}

// How many bytes a send would take now (send_space, and the limit of send), or the error it gives.
uint64_t Host::writable_space( Connection& c )
{
  if ( c.error != E_NONE ) {
    throw CallError { c.error };
  }
  const auto& w = c.peer->outbound_writer();
  if ( w.is_closed() or c.app_closed ) {
    throw CallError { E_CLOSING };
  }
  return w.available_capacity();
}

std::string Host::do_send( Body& b )
{
  const uint32_t id = b.u32();
  const auto data = b.rest();
  auto& c = connection( id );
  const uint64_t n = std::min<uint64_t>( data.size(), writable_space( c ) );
  c.peer->outbound_writer().push( std::string( data.substr( 0, n ) ) );
  return be( n, 4 );
}

std::string Host::do_recv( Body& b )
{
  const uint32_t id = b.u32();
  const uint32_t max = b.u32();
  if ( max == 0 ) {
    throw ProtocolError( "CALL recv: max 0" );
  }
  auto& c = connection( id );
  auto& r = c.peer->inbound_reader();
  if ( r.bytes_buffered() > 0 ) {
    std::string data;
    read( r, max, data );
    return data;
  }
  if ( c.error != E_NONE ) {
    throw CallError { c.error };
  }
  if ( r.is_finished() ) {
    return {}; // end of stream
  }
  throw WouldBlock {};
}

// close: the application gives the socket up. Unread data: RST (RFC 9293 section 3.10.4); else the
// FIN goes after the queued data and the connection finishes on its own. A listener's connections
// that were never accepted are reset.
void Host::do_close( uint32_t id )
{
  if ( const auto l = listeners_.find( id ); l != listeners_.end() ) {
    for ( auto& [cid, c] : conns_ ) {
      if ( c.listener == id and not c.accepted and c.peer ) {
        abort_connection( cid, E_RESET );
        c.peer.reset();
      }
    }
    std::erase_if( conns_, []( const auto& kv ) { return not kv.second.peer; } );
    listeners_.erase( l );
    answer_.message( EVENT, be( id, 4 ) + be( FREED, 1 ) + be( E_NONE, 1 ) );
    reported_.erase( id );
    return;
  }
  auto& c = connection( id );
  if ( c.app_closed ) {
    throw CallError { E_INVALID_SOCKET };
  }
  if ( c.error == E_NONE and c.peer->inbound_reader().bytes_buffered() > 0 ) {
    abort_connection( id, E_RESET );
  } else if ( not c.peer->outbound_writer().is_closed() ) {
    c.peer->outbound_writer().close();
  }
  c.app_closed = true;
}

// After the inputs: failures (reset, too many retransmissions), handshakes that completed.
void Host::check_connection( uint32_t id )
{
  auto& c = conns_.at( id );
  if ( not c.peer or c.error != E_NONE ) {
    return;
  }
  const auto& peer = *c.peer;
  if ( peer.receiver().reader().has_error() or peer.sender().writer().has_error() ) {
    c.error = c.established ? E_RESET : E_REFUSED; // the student's code saw a RST
    return;
  }
  const uint32_t limit = c.established ? c.tun.max_retransmissions : c.tun.max_syn_retransmissions;
  if ( peer.sender().consecutive_retransmissions() > limit ) {
    abort_connection( id, E_TIMED_OUT );
    return;
  }
  if ( c.established and c.listener != 0 and not c.accepted ) {
    auto& ready = listeners_.at( c.listener ).ready;
    if ( std::find( ready.begin(), ready.end(), id ) == ready.end() ) {
      ready.push_back( id );
    }
  }
}

// EVENTs for every socket whose readiness changed; connections the application closed and that are
// done (or were aborted) are freed.
void Host::report_events()
{
  std::vector<uint32_t> freed;
  for ( auto& [id, c] : conns_ ) {
    if ( not c.accepted ) {
      // Never given to the application: forget it quietly once it failed or finished.
      if ( not c.peer or c.error != E_NONE or not c.peer->active() ) {
        std::erase( listeners_.at( c.listener ).ready, id );
        freed.push_back( id );
      }
      continue;
    }
    uint8_t flags = 0;
    if ( not c.peer or ( c.app_closed and ( c.error != E_NONE or not c.peer->active() ) ) ) {
      flags = FREED | ( c.established ? CONNECTED : 0 );
      freed.push_back( id );
    } else {
      const auto& r = c.peer->inbound_reader();
      const auto& w = c.peer->outbound_writer();
      flags |= ( r.bytes_buffered() > 0 or r.is_finished() or c.error != E_NONE ) ? READABLE : 0;
      flags |= ( c.established and c.error == E_NONE and not w.is_closed() and w.available_capacity() > 0 )
                 ? WRITABLE
                 : 0;
      flags |= c.established ? CONNECTED : 0;
    }
    const std::pair<uint8_t, uint8_t> now { flags, c.error };
    const auto last = reported_.find( id );
    if ( last == reported_.end() ? now != std::pair<uint8_t, uint8_t> { 0, 0 } : last->second != now ) {
      answer_.message( EVENT, be( id, 4 ) + be( flags, 1 ) + be( c.error, 1 ) );
      reported_[id] = now;
    }
  }
  for ( const auto id : freed ) {
    conns_.erase( id );
    reported_.erase( id );
  }
  for ( const auto& [id, l] : listeners_ ) {
    const std::pair<uint8_t, uint8_t> now { l.ready.empty() ? 0 : ACCEPTABLE, E_NONE };
    const auto last = reported_.find( id );
    if ( ( last == reported_.end() and now.first != 0 ) or ( last != reported_.end() and last->second != now ) ) {
      answer_.message( EVENT, be( id, 4 ) + be( now.first, 1 ) + be( E_NONE, 1 ) );
      reported_[id] = now;
    }
  }
}

// While any peer is active, wake at the next tick boundary (minnow has no "next deadline" accessor,
// so its timers are driven every tick_ms milliseconds of simulated time).
uint64_t Host::next_wake() const
{
  for ( const auto& [id, c] : conns_ ) {
    if ( c.peer and c.peer->active() ) {
      return ( now_ms_ / tick_ms_ + 1 ) * tick_ms_ * NS_PER_MS;
    }
  }
  return NO_WAKE;
}

std::string Host::finish_step()
{
  std::vector<uint32_t> ids;
  for ( const auto& [id, c] : conns_ ) {
    ids.push_back( id );
  }
  for ( const auto id : ids ) {
    auto& c = conns_.at( id );
    if ( c.peer and c.error == E_NONE ) {
      c.peer->push( transmit_for( id ) ); // data the application wrote, a FIN after shutdown/close
    }
    check_connection( id );
  }
  report_events();
  answer_.message( WAKE, be( next_wake(), 8 ) );
  answer_.message( DONE, {} );
  return answer_.take();
}

// One step: TIME, inputs, END. False when netlab closed stdin.
bool step( Host& host )
{
  const auto first = read_message();
  if ( not first ) {
    return false;
  }
  if ( first->first != TIME ) {
    throw ProtocolError( "expected TIME, got message type " + std::to_string( first->first ) );
  }
  Body t( first->second, "TIME" );
  host.step_time( t.u64() );
  t.finish();
  while ( true ) {
    const auto msg = read_message();
    if ( not msg ) {
      throw ProtocolError( "end of input inside a step" );
    }
    const auto& [type, body] = *msg;
    if ( type == END ) {
      break;
    }
    Body b( body, type == CALL ? "CALL" : "DATAGRAM" );
    if ( type == DATAGRAM_IN ) {
      host.datagram( b.rest() );
    } else if ( type == CALL ) {
      host.call( b );
    } else if ( type != TIMEOUT and type != TRANSMIT ) {
      // TIMEOUT: the ticks above already ran the timers due. TRANSMIT: this adapter never holds
      // datagrams back (READY flag bit 1 clear), so there is nothing to hand over.
      throw ProtocolError( "unexpected message type " + std::to_string( type ) + " inside a step" );
    }
  }
  write_all( host.finish_step() );
  return true;
}

uint64_t tick_ms_from_args( int argc, char* argv[] )
{
  uint64_t tick = 10;
  for ( int i = 1; i < argc; i++ ) {
    const std::string a = argv[i]; // NOLINT(*-pointer-arithmetic)
    if ( a.starts_with( "--tick-ms=" ) ) {
      tick = std::stoull( a.substr( 10 ) );
    } else {
      throw std::runtime_error( "usage: netlab_adapter [--tick-ms=N]  (unknown argument " + a + ")" );
    }
  }
  if ( tick == 0 ) {
    throw std::runtime_error( "--tick-ms must be at least 1" );
  }
  return tick;
}

} // namespace

int main( int argc, char* argv[] )
{
  try {
    Host host( tick_ms_from_args( argc, argv ) );
    const auto hello = read_message();
    if ( not hello ) {
      return EXIT_SUCCESS;
    }
    if ( hello->first != HELLO ) {
      throw ProtocolError( "expected HELLO" );
    }
    Body b( hello->second, "HELLO" );
    host.hello( b );
    while ( step( host ) ) {}
    return EXIT_SUCCESS;
  } catch ( const std::exception& e ) {
    std::cerr << "netlab_adapter: " << e.what() << "\n";
    Out o;
    const std::string why = e.what();
    o.message( FAIL, be( why.size(), 2 ) + why );
    try {
      write_all( o.take() );
    } catch ( const std::exception& ) {
      // stdout is gone too: netlab sees the exit
    }
    return EXIT_FAILURE;
  }
}
