//! The processes `vcp run` holds: one supervisor (`vcp __vcp-supervise`,
//! see supervise.rs) per running worker or reduce step. vcp stops a worker
//! by closing the pipe to its supervisor's stdin, never by a signal to a
//! pid it remembers; the only signal it sends is SIGKILL to a supervisor
//! it still holds unreaped (std's `Child::kill`), when one does not end in
//! time. Dropping `Procs` (an error return, a panic unwinding) stops them
//! all; if vcp itself dies, the kernel closes the pipes and each supervisor
//! stops its worker on its own.

use super::supervise::GRACE;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use signal_hook::SigId;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ExitStatus};
use std::time::{Duration, Instant};

/// One running supervisor.
pub(super) struct Proc {
    pub(super) stage: usize,
    /// `None` for the reduce step.
    pub(super) rank: Option<u32>,
    pub(super) child: Child,
    /// The pipe whose closing stops the worker.
    control: Option<ChildStdin>,
    pub(super) deadline: Option<Instant>,
    pub(super) timed_out: bool,
    pub(super) log: PathBuf,
    /// Where this attempt's output starts in the log.
    pub(super) log_start: u64,
    /// Bytes of the log already mirrored (`--follow`).
    pub(super) followed: u64,
}

impl Proc {
    pub(super) fn new(
        stage: usize,
        rank: Option<u32>,
        mut child: Child,
        timeout: Option<Duration>,
        log: PathBuf,
        log_start: u64,
    ) -> Proc {
        Proc {
            stage,
            rank,
            control: child.stdin.take(),
            child,
            deadline: timeout.map(|t| Instant::now() + t),
            timed_out: false,
            log,
            log_start,
            followed: log_start,
        }
    }

    /// Asks the supervisor to stop the worker and everything it started.
    pub(super) fn stop(&mut self) {
        self.control = None;
    }
}

/// The supervisors of a run, and the wake-up socket their ends (SIGCHLD)
/// and stop signals write to, so the run loop sleeps in poll() until
/// something happens instead of ticking.
pub(super) struct Procs {
    pub(super) running: Vec<Proc>,
    woken: UnixStream,
    signals: Vec<SigId>,
}

impl Procs {
    pub(super) fn new() -> io::Result<Procs> {
        // Whatever a supervisor leaves behind if it is killed becomes ours,
        // not init's, and is swept at the end.
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let (wake, woken) = UnixStream::pair()?;
        woken.set_nonblocking(true)?;
        let mut signals = Vec::new();
        for sig in [
            signal_hook::consts::SIGCHLD,
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            signals.push(signal_hook::low_level::pipe::register(
                sig,
                wake.try_clone()?,
            )?);
        }
        Ok(Procs {
            running: Vec::new(),
            woken,
            signals,
        })
    }

    /// Sleeps until a child ends, a signal arrives or `timeout` passes.
    pub(super) fn wait(&self, timeout: Duration) {
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.woken.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, timeout);
        let mut drain = [0u8; 64];
        while matches!((&self.woken).read(&mut drain), Ok(n) if n > 0) {}
    }

    /// Removes and returns the first supervisor that ended, with its status.
    pub(super) fn reap(&mut self) -> io::Result<Option<(Proc, ExitStatus)>> {
        for i in 0..self.running.len() {
            if let Some(status) = self.running[i].child.try_wait()? {
                return Ok(Some((self.running.swap_remove(i), status)));
            }
        }
        Ok(None)
    }

    /// Stops every worker and waits for every supervisor; what is still
    /// there after the supervisors' own grace period is killed.
    pub(super) fn stop_all(&mut self) {
        for p in &mut self.running {
            p.stop();
        }
        let deadline = Instant::now() + GRACE + Duration::from_secs(2);
        while !self.running.is_empty() && Instant::now() < deadline {
            self.running
                .retain_mut(|p| !matches!(p.child.try_wait(), Ok(Some(_))));
            if !self.running.is_empty() {
                self.wait(Duration::from_millis(100));
            }
        }
        for p in &mut self.running {
            // Unreaped: the pid is still this supervisor.
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        self.running.clear();
        sweep_orphans();
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.stop_all();
        for id in self.signals.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Kills and reaps every child vcp still has once its supervisors are
/// reaped: the trees of supervisors that were themselves killed, which
/// became ours as subreaper. Each pid signalled is an unreaped child.
fn sweep_orphans() {
    let deadline = Instant::now() + GRACE;
    loop {
        super::supervise::signal_children(nix::sys::signal::Signal::SIGKILL);
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => return,
            }
        }
        if Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
