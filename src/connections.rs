//! Bounds on the connections of both listeners, so that slow or idle clients cannot exhaust a
//! node: a cap on open connections, a deadline for each request's headers (which also closes
//! idle keep-alive connections), for the first request, the TLS handshake and a stalled write.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::Server;
use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest request head (request line and headers) hyper buffers; a larger one is answered
/// `431` by hyper itself. The gateway's own, smaller bounds answer with an X-Road error.
const MAX_HEAD_BUFFER: usize = 512 * 1024;
/// Header fields the HTTP layer reads before it answers a bare 431: well above the gateway's own
/// bound (`gateway::call::MAX_HEADER_FIELDS`), which answers with an X-Road error.
pub const MAX_HEADER_FIELDS_READ: usize = 1000;

/// The bounds of one listener.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// How long a client may take to send a request's line and headers, counted from when the
    /// connection is ready for the request (so it also bounds an idle keep-alive connection),
    /// the TLS handshake, and how long a write to a client that reads nothing may wait.
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
        }
    }
}

impl ConnectionLimits {
    /// `server` with these bounds and its acceptor capped; `listener` names it in metrics
    /// (`systems` or `peers`).
    pub fn apply<A, Acc>(
        &self,
        mut server: Server<A, Acc>,
        listener: &'static str,
    ) -> Server<A, Capped<Acc>>
    where
        A: axum_server::Address,
        Acc: Clone,
    {
        let builder = server.http_builder();
        builder
            .http1()
            .header_read_timeout(self.header_timeout)
            .max_buf_size(MAX_HEAD_BUFFER)
            .max_headers(MAX_HEADER_FIELDS_READ);
        builder
            .http2()
            .keep_alive_interval(self.header_timeout)
            .keep_alive_timeout(self.header_timeout)
            .max_concurrent_streams(256);
        let slots = Arc::new(Semaphore::new(self.max_connections));
        server
            .first_request_timeout(self.header_timeout)
            .map(|inner| Capped {
                inner,
                slots,
                listener,
                stall_limit: self.header_timeout,
            })
    }
}

/// An acceptor holding one of a fixed number of slots for as long as its connection is open.
#[derive(Clone)]
pub struct Capped<A> {
    inner: A,
    slots: Arc<Semaphore>,
    listener: &'static str,
    stall_limit: Duration,
}

impl<A, I, S> Accept<I, S> for Capped<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = Held<A::Stream>;
    type Service = A::Service;
    type Future =
        Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send + 'static>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            metrics::counter!("hromada_connections_refused_total", "listener" => self.listener)
                .increment(1);
            tracing::debug!(
                listener = self.listener,
                "a connection was closed on arrival: the listener has its maximum open"
            );
            drop(stream);
            return Box::pin(std::future::ready(Err(io::Error::other(
                "too many open connections",
            ))));
        };
        let accepted = self.inner.accept(stream, service);
        let (listener, stall_limit) = (self.listener, self.stall_limit);
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((
                Held {
                    stream,
                    _slot: permit,
                    listener,
                    stall_limit,
                    stalled: None,
                },
                service,
            ))
        })
    }
}

/// A connection's stream with its slot, given back when the connection closes. A write that
/// cannot progress for `stall_limit` (the client reads none of its answers) fails, which closes
/// the connection: otherwise a client that never reads would hold its slot for good.
pub struct Held<S> {
    stream: S,
    _slot: OwnedSemaphorePermit,
    listener: &'static str,
    stall_limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> Held<S> {
    /// `polled`, a write's outcome, unless the write has been pending for `stall_limit`.
    fn unless_stalled<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.stall_limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        metrics::counter!("hromada_connections_stalled_total", "listener" => self.listener)
            .increment(1);
        tracing::debug!(
            listener = self.listener,
            "a connection was closed: its client read nothing of the answer in time"
        );
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read nothing of its answer in time",
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Held<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Held<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.unless_stalled(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_flush(cx);
        self.unless_stalled(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.unless_stalled(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
