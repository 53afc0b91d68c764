//! Binding the data port: one listener, or one per worker sharing the port through
//! `SO_REUSEPORT` (the kernel spreads new connections over them by a hash of the peer's
//! address, as with nginx's `reuseport`).

use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket};

/// The accept backlog of every listener (tokio's `bind` uses 128, which drops connections
/// under a burst of a thousand clients).
const BACKLOG: u32 = 4096;

fn socket(addr: SocketAddr, reuse_port: bool) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    socket.set_nodelay(true)?;
    Ok(socket)
}

/// Binds a TCP listener with a large accept backlog.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket(addr, false)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Binds `n` listeners (at least one) on the same address with `SO_REUSEPORT`, for `n` workers.
/// Port 0 picks a port once: the others join the first one's. They are returned as standard
/// listeners, to be registered with the runtime of the worker that serves each.
pub fn bind_workers(addr: SocketAddr, n: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let mut at = addr;
    let mut listeners = Vec::with_capacity(n.max(1));
    for _ in 0..n.max(1) {
        let socket = socket(at, true)?;
        socket.bind(at)?;
        let listener = socket.listen(BACKLOG)?;
        at = listener.local_addr()?;
        listeners.push(listener.into_std()?);
    }
    Ok(listeners)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn worker_listeners_share_one_port_even_when_the_os_picks_it() {
        let listeners = bind_workers("127.0.0.1:0".parse().expect("addr"), 3).expect("bind");
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().expect("addr").port())
            .collect();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|p| *p == ports[0] && *p != 0), "{ports:?}");
        // Each accepts: a connection reaches one of them.
        let listeners: Vec<TcpListener> = listeners
            .into_iter()
            .map(|l| TcpListener::from_std(l).expect("register"))
            .collect();
        let addr = listeners[0].local_addr().expect("addr");
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let accepted =
            futures_util::future::select_all(listeners.iter().map(|l| Box::pin(l.accept()))).await;
        assert!(accepted.0.is_ok());
    }
}
