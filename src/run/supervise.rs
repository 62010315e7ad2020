//! `vcp __vcp-supervise`: the small process between `vcp run` and one
//! worker (or reduce step). It is what makes "no process outlives its run"
//! hold whatever ends vcp, SIGKILL included:
//!
//! - its stdin is a pipe whose other end only vcp holds: when vcp closes it
//!   (to stop the worker) or dies (the kernel closes it), the read sees end
//!   of file, and the supervisor stops the worker;
//! - it is a child subreaper (`PR_SET_CHILD_SUBREAPER`): whatever the worker
//!   started and left behind, even after `setsid`, becomes its child when
//!   its parent dies, never init's. Stopping sends SIGTERM to the worker's
//!   process group, waits until every descendant ended or the grace period
//!   passed, then kills with SIGKILL every child it still has, level by
//!   level, until it has none: the whole tree, as Kubernetes kills a
//!   container;
//! - it signals only processes it has not reaped (its own children, or the
//!   worker's process group while the worker, its leader, is unreaped), and
//!   it is the only one that reaps them: a pid it signals cannot have been
//!   reused;
//! - it holds a shared lock on the run's `procs` file while it lives, so a
//!   `--resume` can tell that processes of the earlier run are still alive;
//! - the worker's output reaches the log through it: one stream per worker,
//!   cut at the log limit (the head kept, a marker, then the last 64 KiB).

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The hidden subcommand that runs a supervisor.
pub const SUBCOMMAND: &str = "__vcp-supervise";

/// How long a stopped worker gets after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(3);
/// The end of a cut attempt's output that is kept.
const TAIL: usize = 64 * 1024;

/// What `vcp run` passes on the supervisor's command line.
#[derive(Debug, Clone)]
pub struct SuperviseArgs {
    pub log: PathBuf,
    pub lock: PathBuf,
    /// Bytes of this attempt's output kept before the cut.
    pub log_limit: u64,
    pub program: Vec<String>,
}

impl SuperviseArgs {
    /// The arguments after `vcp __vcp-supervise`.
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut out: Vec<std::ffi::OsString> = vec![
            "--log".into(),
            self.log.clone().into(),
            "--lock".into(),
            self.lock.clone().into(),
            "--log-limit".into(),
            self.log_limit.to_string().into(),
            "--".into(),
        ];
        out.extend(self.program.iter().map(Into::into));
        out
    }
}

pub fn main(args: SuperviseArgs) -> ExitCode {
    match supervise(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if let Ok(mut log) = open_log(&args) {
                let _ = writeln!(log, "vcp: the supervisor failed: {e}");
            }
            ExitCode::from(2)
        }
    }
}

fn open_log(args: &SuperviseArgs) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&args.log)
}

fn supervise(args: &SuperviseArgs) -> io::Result<u8> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)?;
    let lock = File::open(&args.lock)?;
    lock.lock_shared()?;
    let mut log = Limited::new(open_log(args)?, args.log_limit);
    // Signals wake the poll below through a socket; SIGCHLD says a child
    // ended, the others (sent to the supervisor itself) mean stop.
    let (wake, woken) = UnixStream::pair()?;
    woken.set_nonblocking(true)?;
    let stop_signal = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGCHLD,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::low_level::pipe::register(sig, wake.try_clone()?)?;
        if sig != signal_hook::consts::SIGCHLD {
            signal_hook::flag::register(sig, Arc::clone(&stop_signal))?;
        }
    }
    let (mut out, out_w) = io::pipe()?;
    let Some((program, rest)) = args.program.split_first() else {
        return Err(io::Error::other("no program to supervise"));
    };
    let child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(out_w.try_clone()?)
        .stderr(out_w)
        // Its own process group: a stop reaches everything it started
        // that did not move away (what did, the sweep finds).
        .process_group(0)
        .spawn()?;
    let leader = Pid::from_raw(i32::try_from(child.id()).map_err(io::Error::other)?);
    // Reaped by waitpid below, never through `child`.
    drop(child);

    let stdin = io::stdin();
    let mut control_open = true;
    let mut out_open = true;
    let mut leader_status: Option<u8> = None;
    let mut stop_deadline: Option<Instant> = None;
    let mut termed: Vec<Pid> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let stopping = stop_deadline.is_some() || stop_signal.load(Ordering::SeqCst);
        if stopping && stop_deadline.is_none() {
            log.note("vcp: stopping the worker (SIGTERM to its processes)");
            if leader_status.is_none() {
                let _ = killpg(leader, Signal::SIGTERM);
            }
            stop_deadline = Some(Instant::now() + GRACE);
        }
        if stopping {
            // Also what left the group and became ours since (its parent
            // ended): each gets SIGTERM once, while unreaped.
            for pid in children() {
                if !termed.contains(&pid) && pid != leader {
                    let _ = kill(pid, Signal::SIGTERM);
                    termed.push(pid);
                }
            }
        }
        // Reap what ended; only here, so every pid signalled is unreaped.
        let mut no_children = false;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break,
                Ok(WaitStatus::Exited(pid, code)) if pid == leader => {
                    leader_status = Some(u8::try_from(code).unwrap_or(255));
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == leader => {
                    leader_status = Some(128u8.saturating_add(sig as i32 as u8));
                }
                Ok(_) => {}
                Err(Errno::EINTR) => {}
                Err(_) => {
                    no_children = true;
                    break;
                }
            }
        }
        let over = stop_deadline.is_some_and(|d| Instant::now() >= d);
        if (leader_status.is_some() && stop_deadline.is_none()) || over {
            // The worker ended (a container's other processes end with its
            // first), or the grace period is over: kill the rest.
            sweep(&mut leader_status, leader);
            no_children = true;
        }
        if no_children && leader_status.is_some() {
            // Every writer of the output pipe is gone: read it to the end.
            while out_open {
                match out.read(&mut buf) {
                    Ok(0) | Err(_) => out_open = false,
                    Ok(n) => log.write(&buf[..n]),
                }
            }
            log.finish();
            return Ok(leader_status.unwrap_or(2));
        }
        // While stopping, look again every 100 ms for processes that became
        // ours (no signal says so).
        let timeout = match stop_deadline {
            Some(d) => PollTimeout::try_from(
                d.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(100)),
            )
            .unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        };
        let mut fds = vec![PollFd::new(woken.as_fd(), PollFlags::POLLIN)];
        if control_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        if out_open {
            fds.push(PollFd::new(out.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        let control_ready = control_open && ready(&fds[1]);
        let out_ready = out_open && ready(&fds[fds.len() - 1]);
        drop(fds);
        let mut drain = [0u8; 64];
        while matches!((&woken).read(&mut drain), Ok(n) if n > 0) {}
        if control_ready {
            // Nothing is ever written: readable means closed (vcp stopped
            // the worker, or vcp is gone).
            control_open = false;
            stop_signal.store(true, Ordering::SeqCst);
        }
        if out_ready {
            match out.read(&mut buf) {
                Ok(0) => out_open = false,
                Ok(n) => log.write(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => out_open = false,
            }
        }
    }
}

/// The pids of this process's children, zombies included.
fn children() -> Vec<Pid> {
    let me = std::process::id();
    let path = format!("/proc/{me}/task/{me}/children");
    if let Ok(text) = std::fs::read_to_string(path) {
        return text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .map(Pid::from_raw)
            .collect();
    }
    // Without CONFIG_PROC_CHILDREN: every process whose parent we are.
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold anything but ends at
        // the last `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(me) {
            out.push(Pid::from_raw(pid));
        }
    }
    out
}

/// Signals every child: each is unreaped (only this thread reaps), so each
/// pid is still the process it was.
pub(super) fn signal_children(sig: Signal) {
    for pid in children() {
        let _ = kill(pid, sig);
    }
}

/// Kills every descendant: SIGKILL to every child, reap, and again for the
/// grandchildren that became children when their parents died, until no
/// child is left.
fn sweep(leader_status: &mut Option<u8>, leader: Pid) {
    loop {
        signal_children(Signal::SIGKILL);
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break,
                Ok(WaitStatus::Exited(pid, code)) if pid == leader => {
                    leader_status.get_or_insert(u8::try_from(code).unwrap_or(255));
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == leader => {
                    leader_status.get_or_insert(128u8.saturating_add(sig as i32 as u8));
                }
                Ok(_) | Err(Errno::EINTR) => {}
                // ECHILD: none left; descendants of a dead process became
                // ours before it could be reaped, so none is left anywhere.
                Err(_) => return,
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The log, cut past a limit: the head, a marker, the last [`TAIL`] bytes.
struct Limited {
    file: File,
    limit: u64,
    written: u64,
    dropped: u64,
    tail: VecDeque<u8>,
}

impl Limited {
    fn new(file: File, limit: u64) -> Limited {
        Limited {
            file,
            limit,
            written: 0,
            dropped: 0,
            tail: VecDeque::new(),
        }
    }

    fn write(&mut self, mut bytes: &[u8]) {
        if self.written < self.limit {
            let room = usize::try_from(self.limit - self.written).unwrap_or(usize::MAX);
            let head = &bytes[..bytes.len().min(room)];
            let _ = self.file.write_all(head);
            self.written += head.len() as u64;
            bytes = &bytes[head.len()..];
        }
        if bytes.is_empty() {
            return;
        }
        self.tail.extend(bytes);
        let over = self.tail.len().saturating_sub(TAIL);
        self.tail.drain(..over);
        self.dropped += over as u64;
    }

    /// A line of the supervisor's own, outside the limit.
    fn note(&mut self, line: &str) {
        let _ = writeln!(self.file, "{line}");
    }

    fn finish(&mut self) {
        if self.tail.is_empty() {
            return;
        }
        let tail: Vec<u8> = self.tail.drain(..).collect();
        let _ = write!(
            self.file,
            "\nvcp: --- output cut here: {} bytes after the first {} were not kept (--log-limit); the last {} bytes follow ---\n",
            self.dropped,
            self.limit,
            tail.len()
        );
        let _ = self.file.write_all(&tail);
        if tail.last() != Some(&b'\n') {
            let _ = self.file.write_all(b"\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_log_keeps_the_head_a_marker_and_the_tail() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("log");
        let file = File::create(&path).expect("log");
        let mut log = Limited::new(file, 10);
        log.write(b"0123456");
        log.write(b"789abc");
        for _ in 0..100 {
            log.write(&[b'x'; 1024]);
        }
        log.write(b"end");
        log.finish();
        let text = std::fs::read(&path).expect("read");
        assert!(text.starts_with(b"0123456789\nvcp: --- output cut here: "));
        assert!(text.ends_with(b"xxend\n"));
        assert!(text.len() < 10 + TAIL + 200, "{}", text.len());
    }
}
