//! Work inside a call that holds its thread for milliseconds to seconds: RSA key
//! generation and Argon2 password hashing.
//!
//! [`run`] keeps such work from stalling other connections. On tokio's multi-threaded
//! runtime (what `rampart serve` runs on) it goes through
//! [`tokio::task::block_in_place`]: the worker hands its other tasks and its I/O to
//! another thread while the work runs in place. Anywhere else (a current-thread
//! runtime, no runtime) it runs inline.
//!
//! What this leaves to the caller: not holding the view's lock across the work. A write
//! waiting for that lock holds back every reader that comes after it, so a lock held for
//! a second would stop every call for that second.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `work`, letting the current tokio worker's other tasks move to another thread
/// meanwhile (see the module documentation).
pub(crate) fn run<T>(work: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    /// On a runtime with a single worker, a task blocked inside [`super::run`] waits for
    /// another task of the same runtime: it gets its answer only if that worker handed
    /// its tasks to another thread.
    #[test]
    fn other_tasks_run_while_the_work_holds_the_thread() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (started, work_started) = tokio::sync::oneshot::channel::<()>();
        let (answer, answered) = mpsc::channel::<&str>();
        let got = runtime.block_on(async move {
            let blocked = tokio::spawn(async move {
                super::run(move || {
                    started.send(()).unwrap();
                    answered.recv_timeout(Duration::from_secs(30))
                })
            });
            tokio::spawn(async move {
                work_started.await.unwrap();
                answer.send("from the other task").unwrap();
            });
            blocked.await.unwrap()
        });
        assert_eq!(got, Ok("from the other task"));
    }

    #[tokio::test]
    async fn runs_inline_on_a_current_thread_runtime() {
        assert_eq!(super::run(|| 6 * 7), 42);
    }

    #[test]
    fn runs_inline_outside_a_runtime() {
        assert_eq!(super::run(|| "done"), "done");
    }
}
