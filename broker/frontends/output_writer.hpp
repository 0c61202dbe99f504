// A connection's output side, the same for every front-end: the output queue, the writer
// coroutine that sends it, and the write at the end of a read batch (docs/architecture.md
// §3): output queued while a front-end handles a read is handed to the stream when that
// batch ends (broker_core::defer_write, stream::write_now), and the writer coroutine only
// sends what the stream did not take.
#pragma once

#include <cstddef>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/steady_timer.hpp>

#include "frontends/output_queue.hpp"

namespace ipc::transport {
class stream;
}

namespace ipc::broker {

class broker_core;
class client_state;

class output_writer {
 public:
  // What the writer asks of the connection it writes for.
  class connection {
   public:
    virtual bool stopped() const = 0;   // the writer ends
    virtual bool draining() const = 0;  // it ends once the queue is out; nothing written at once
    // `bytes` left the queue, written (the connection counts them, then may hand out
    // more: room freed).
    virtual void written(std::size_t bytes) = 0;

   protected:
    ~connection() = default;
  };

  output_writer(broker_core& core, transport::stream& stream, connection& owner);
  ~output_writer();
  output_writer(const output_writer&) = delete;
  output_writer& operator=(const output_writer&) = delete;

  output_queue& queue() { return out_; }
  // Queued, plus taken for writing and not yet written.
  std::size_t pending_bytes() const { return out_.pending_bytes() + in_flight_.bytes; }

  // Output was queued. An idle writer is woken; during a read batch the core is asked to
  // call the connection's client::write_deferred, which calls write_deferred() here.
  void wake(client_state* state);
  // The read batch ended: an idle writer's queue goes to the stream now (what it does not
  // take, the writer sends). May throw (connection::written).
  void write_deferred();
  // The connection stops: a writer waiting for output ends.
  void cancel();
  // The writer coroutine: sends what is queued until the connection stops, a write fails,
  // or, draining, the queue is empty.
  asio::awaitable<void> run();

 private:
  bool write_now();
  void gather(std::size_t skip);  // in_flight_'s buffers from byte `skip` on, into gather_

  broker_core& core_;
  transport::stream& stream_;
  connection& owner_;
  output_queue out_;
  output_queue::batch in_flight_;
  bool in_flight_held_ = false;  // in_flight_ was taken, in_flight_written_ of it written
  std::size_t in_flight_written_ = 0;
  std::vector<asio::const_buffer> gather_;
  asio::steady_timer wake_;  // the writer sleeps on it; cancel() wakes it
  bool waiting_ = false;     // the writer sleeps
  bool deferred_ = false;    // broker_core::defer_write() was asked in this read batch
};

}  // namespace ipc::broker
