//! Ctrl-C asks the training loop to save a checkpoint and stop.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Whether the handler was installed.
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// The request to stop that Ctrl-C makes. The first Ctrl-C sets it and the training loop,
/// which checks [`requested`](Self::requested) after each step, saves a checkpoint and
/// returns; a second Ctrl-C quits at once (exit status 130).
#[derive(Debug, Clone, Copy)]
pub struct Interrupt(());

impl Interrupt {
    /// Installs the Ctrl-C handler, once per process (later calls share it). If another
    /// handler is already installed, Ctrl-C keeps its usual effect and a warning is logged.
    pub fn install() -> Self {
        INSTALLED.get_or_init(|| {
            let handler = ctrlc::set_handler(|| {
                if REQUESTED.swap(true, Ordering::SeqCst) {
                    eprintln!("\ninterrupted twice: quitting without a checkpoint");
                    std::process::exit(130);
                }
                eprintln!("\ninterrupted: saving a checkpoint, then stopping (Ctrl-C again to quit at once)");
            });
            if let Err(err) = &handler {
                tracing::warn!("cannot catch Ctrl-C ({err}): an interrupted run will lose the steps since its last checkpoint");
            }
            handler.is_ok()
        });
        Self(())
    }

    /// Whether a stop was requested.
    pub fn requested(&self) -> bool {
        REQUESTED.load(Ordering::SeqCst)
    }

    /// Requests a stop, as Ctrl-C does (for a loop that must stop for its own reasons).
    pub fn request(&self) {
        REQUESTED.store(true, Ordering::SeqCst);
    }

    /// Withdraws the request, for a process that goes on to train something else.
    pub fn clear(&self) {
        REQUESTED.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_sets_the_request_and_does_not_kill_the_process() {
        let interrupt = Interrupt::install();
        let again = Interrupt::install();
        assert!(!interrupt.requested());
        #[cfg(unix)]
        if INSTALLED.get() == Some(&true) {
            let status = std::process::Command::new("kill")
                .args(["-INT", &std::process::id().to_string()])
                .status();
            if status.is_ok_and(|s| s.success()) {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                while !again.requested() && std::time::Instant::now() < deadline {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                assert!(again.requested(), "the handler saw SIGINT");
                interrupt.clear();
            }
        }
        interrupt.request();
        assert!(again.requested());
        interrupt.clear();
        assert!(!interrupt.requested());
    }
}
