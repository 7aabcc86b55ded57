//! Engines reached over ssh (`ssh://user@host:port`), as the docker CLI reaches them: the
//! system's `ssh` (through the openssh crate) holds one master connection to the host, and
//! every HTTP connection to the engine is `docker system dial-stdio` run there over it, its
//! stdin and stdout the connection's two halves. A translator, under bollard's custom
//! transport.
//!
//! bollard's own `ssh` connector is not used: it loses the port (the authority it hands to
//! openssh lacks the `ssh://` openssh reads a port from, so ssh is asked for the host
//! `127.0.0.1:2222`), starts a master for every connection, kept for ever after a kill
//! (`ControlPersist=yes`), and adds unknown host keys to known_hosts (accept-new). Here the
//! host key must be known already (`StrictHostKeyChecking=yes`), as for the docker CLI in
//! batch mode, and the master leaves a minute after its last connection ends, also when
//! dispatch is killed.

use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::{BollardRequest, Docker};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use openssh::{
    ChildStdin, ChildStdout, ControlPersist, KnownHosts, Session, SessionBuilder, Stdio,
};
use tokio::sync::Mutex;

/// How long, in seconds, the master connection stays once nothing uses it.
const IDLE: NonZeroUsize = NonZeroUsize::new(60).expect("not zero");

/// A client for the engine at `address` (`ssh://[user@]host[:port]`), logged in with the key
/// at `identity` if given; nothing is sent, and ssh is not started, until the first request.
pub(super) fn client(
    address: &str,
    identity: Option<&Path>,
    timeout: Duration,
) -> Result<Docker, bollard::errors::Error> {
    let master = Arc::new(Master {
        address: address.to_string(),
        identity: identity.map(Path::to_path_buf),
        timeout,
        session: Mutex::new(None),
    });
    let client = Arc::new(Client::builder(TokioExecutor::new()).build(Dial(master)));
    let transport = move |request: BollardRequest| {
        let client = Arc::clone(&client);
        async move { (client.request(request).await).map_err(bollard::errors::Error::from) }
    };
    // bollard's requests name the engine `ssh://[user@]host[:port]/...`: the dial below
    // ignores it, and reaches the one host this client is for.
    let seconds = timeout.max(Duration::from_secs(1)).as_secs();
    Docker::connect_with_custom_transport(
        transport,
        Some(address),
        seconds,
        bollard::API_DEFAULT_VERSION,
    )
}

/// The master connection to one host, started on first use and again when it went away.
struct Master {
    address: String,
    identity: Option<PathBuf>,
    timeout: Duration,
    session: Mutex<Option<Arc<Session>>>,
}

impl Master {
    /// The master connection, started if there is none or the one there was went away.
    async fn session(&self) -> Result<Arc<Session>, openssh::Error> {
        let mut held = self.session.lock().await;
        if let Some(session) = held.as_ref()
            && session.check().await.is_ok()
        {
            return Ok(Arc::clone(session));
        }
        let mut builder = SessionBuilder::default();
        builder
            .known_hosts_check(KnownHosts::Strict)
            .connect_timeout(self.timeout.max(Duration::from_secs(1)))
            .server_alive_interval(Duration::from_secs(15))
            .control_persist(ControlPersist::IdleFor(IDLE))
            // Where the OS clears what a killed run leaves (the control socket's directory).
            .control_directory(std::env::temp_dir());
        if let Some(identity) = &self.identity {
            builder.keyfile(identity);
        }
        // openssh reads the user and port from the `ssh://` form itself.
        let session = Arc::new(builder.connect(&self.address).await?);
        *held = Some(Arc::clone(&session));
        Ok(session)
    }

    /// A connection to the engine: `docker system dial-stdio` on the host.
    async fn dial(&self) -> Result<Stream, openssh::Error> {
        let session = self.session().await?;
        let mut child = (session.arc_command("docker"))
            .args(["system", "dial-stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .await?;
        // The remote command's pipes (not the terminal's): the connection's two halves.
        let taken = || openssh::Error::ChildIo(io::Error::other("its pipe was taken"));
        let input = openssh::Child::stdin(&mut child).take().ok_or_else(taken)?;
        let output = openssh::Child::stdout(&mut child)
            .take()
            .ok_or_else(taken)?;
        Ok(Stream {
            _child: child,
            input: Some(TokioIo::new(input)),
            output: TokioIo::new(output),
        })
    }
}

/// The connector hyper asks for each new connection.
#[derive(Clone)]
struct Dial(Arc<Master>);

impl tower_service::Service<hyper::Uri> for Dial {
    type Response = Stream;
    type Error = Refused;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, Refused>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let master = Arc::clone(&self.0);
        Box::pin(async move { master.dial().await.map_err(Refused::from) })
    }
}

/// Why ssh gave no connection, in its words, on one line: what it logged comes from the
/// remote host too, and ends its lines with `\r\n`; other control characters are escaped.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

impl From<openssh::Error> for Refused {
    fn from(error: openssh::Error) -> Refused {
        let mut text = error.to_string();
        let mut cause = std::error::Error::source(&error);
        while let Some(e) = cause {
            let more = e.to_string();
            if !text.contains(&more) {
                text = format!("{text}: {more}");
            }
            cause = e.source();
        }
        let lines: Vec<&str> = (text.split(['\r', '\n']).map(str::trim))
            .filter(|line| !line.is_empty())
            .collect();
        let line = lines.join(" ");
        Refused(
            line.chars()
                .map(|c| match c.is_control() {
                    true => c.escape_default().to_string(),
                    false => c.to_string(),
                })
                .collect(),
        )
    }
}

/// One connection: the remote command's output to read, its input to write (dropped to shut
/// the writing half), and the command, ended when the connection is dropped.
struct Stream {
    _child: openssh::Child<Arc<Session>>,
    input: Option<TokioIo<ChildStdin>>,
    output: TokioIo<ChildStdout>,
}

impl Stream {
    fn input(&mut self) -> io::Result<Pin<&mut TokioIo<ChildStdin>>> {
        (self.input.as_mut())
            .map(Pin::new)
            .ok_or_else(|| io::ErrorKind::BrokenPipe.into())
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().output).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().input()?.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().input()?.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.input.is_some() {
            std::task::ready!(this.input()?.poll_shutdown(cx))?;
            // A pipe's shutdown does not close it: dropped, the remote command sees its end.
            this.input = None;
        }
        Poll::Ready(Ok(()))
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_ssh_said_is_one_line_without_control_characters() {
        let said = io::Error::other(
            "No ED25519 host key is known for [localhost]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n\x1b[2K",
        );
        let refused = Refused::from(openssh::Error::Connect(said));
        assert_eq!(
            refused.to_string(),
            "failed to connect to the remote host: No ED25519 host key is known for [localhost]:2222 and you have requested strict checking. Host key verification failed. \\u{1b}[2K"
        );
    }
}
