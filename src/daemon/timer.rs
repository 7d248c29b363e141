//! The daemon's one wall-clock timer: a `CLOCK_REALTIME` timerfd armed at
//! an absolute deadline with `TFD_TIMER_CANCEL_ON_SET`, inside tokio's
//! `AsyncFd`. The kernel wakes us exactly at the deadline, even after a
//! suspend (the realtime clock keeps running), and makes the read fail
//! with `ECANCELED` when the clock is set (date, NTP step) and, since Linux
//! 5.14, on resume — so deadlines are re-planned without polling. Disarmed,
//! it never wakes the daemon.

use std::os::fd::OwnedFd;

use rustix::io::Errno;
use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// What woke the timer.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    /// The deadline passed.
    Due,
    /// The clock was set, or the machine resumed: re-plan everything.
    ClockChanged,
}

pub struct WallTimer {
    fd: AsyncFd<OwnedFd>,
    armed: Option<i64>,
}

impl WallTimer {
    pub fn new() -> std::io::Result<WallTimer> {
        let fd = timerfd_create(
            TimerfdClockId::Realtime,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // SAFETY: `register` needs the descriptor to stay open and be the
        // same one for the AsyncFd's whole life. The AsyncFd owns the
        // `OwnedFd` (nothing else can close it), and `OwnedFd::as_raw_fd`
        // always returns the descriptor it was created with.
        #[allow(unsafe_code)]
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(std::io::Error::from)?;
        Ok(WallTimer { fd, armed: None })
    }

    /// Arms at `deadline_usec` (µs since the epoch), or disarms with
    /// `None`. Does nothing when already armed there.
    pub fn arm(&mut self, deadline_usec: Option<i64>) -> std::io::Result<()> {
        if self.armed == deadline_usec {
            return Ok(());
        }
        let value = match deadline_usec {
            // Zero disarms; an elapse at the epoch itself is 1 ns later.
            Some(t) => Timespec {
                tv_sec: t.div_euclid(1_000_000).max(0),
                tv_nsec: if t <= 0 {
                    1
                } else {
                    t.rem_euclid(1_000_000) * 1000
                },
            },
            None => Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        timerfd_settime(
            self.fd.get_ref(),
            TimerfdTimerFlags::ABSTIME | TimerfdTimerFlags::CANCEL_ON_SET,
            &spec,
        )?;
        self.armed = deadline_usec;
        Ok(())
    }

    /// Waits until the deadline passes or the clock changes.
    pub async fn wait(&mut self) -> std::io::Result<Wake> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut buf = [0u8; 8];
            match rustix::io::read(self.fd.get_ref(), &mut buf) {
                Ok(_) => {
                    self.armed = None;
                    return Ok(Wake::Due);
                }
                Err(Errno::CANCELED) => {
                    // The timer is disarmed by the cancellation.
                    self.armed = None;
                    return Ok(Wake::ClockChanged);
                }
                Err(Errno::AGAIN) => guard.clear_ready(),
                Err(e) => return Err(e.into()),
            }
        }
    }
}
