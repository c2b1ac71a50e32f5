//! Argon2id hashing on its own bounded pool, so hashing can never starve database calls.
//!
//! The pool is one thread per core, each at the lowest scheduling priority (nice 19): while
//! sign-ins keep every core hashing, any other request's thread still runs the moment it is
//! ready, and hashing takes whatever CPU is left — all of it when nothing else runs.
//!
//! Up to two hashes per core are admitted: one running and one queued behind it, so that a
//! hashing thread that finishes starts the next hash at once instead of waiting for the hand-off
//! through the async side (wake the request's task, release its permit, wake the next one).
//!
//! The 19 MiB of working memory a hash needs is managed here rather than by the argon2 crate:
//! its `vec!` per hash lands in glibc's per-thread arenas once the first free has raised the
//! dynamic mmap threshold, and every blocking thread that ever hashed kept its 19-38 MiB — the
//! resident size reached 580 MB after 45 sign-ins (docs/PERFORMANCE.md). Here each hashing thread
//! owns one buffer, reused from hash to hash and handed back to the operating system once the
//! thread has been idle; a queued hash holds no memory.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::domain::Secret;

/// OWASP's Argon2id floor: m = 19 MiB, t = 2, p = 1.
fn params() -> Params {
    #[expect(clippy::unwrap_used, reason = "constant, valid parameters")]
    Params::new(19_456, 2, 1, None).unwrap()
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// Capacity of a working-memory buffer, in 1 KiB blocks: above glibc's largest dynamic mmap
/// threshold (32 MiB on 64-bit), so a buffer is always a mapping of its own that `free` unmaps.
/// Only the blocks a hash uses are ever touched, so only those are resident.
const MAPPED_BLOCKS: usize = 33 * 1024;

/// How long a hashing thread must have been idle before its buffer is given back.
const RELEASE_AFTER: Duration = Duration::from_secs(2);

/// Working memory for `blocks` Argon2 blocks.
fn working_memory(blocks: usize) -> Vec<Block> {
    let mut memory = Vec::with_capacity(blocks.max(MAPPED_BLOCKS));
    memory.resize(blocks, Block::default());
    memory
}

/// Verifies `password` against a PHC string with the given working memory (any parameters:
/// a buffer too small for them is replaced by one that fits). Constant-time comparison.
fn verify_with(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(parsed.algorithm), Params::try_from(&parsed)) else {
        return false;
    };
    let Ok(version) = parsed.version.map(Version::try_from).transpose() else { return false };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else { return false };
    if memory.len() < params.block_count() {
        *memory = working_memory(params.block_count());
    }
    let mut out = vec![0u8; expected.len()];
    let hasher = Argon2::new(algorithm, version.unwrap_or_default(), params);
    if hasher.hash_password_into_with_memory(password, salt, &mut out, memory.as_mut_slice()).is_err() {
        return false;
    }
    bool::from(expected.as_bytes().ct_eq(&out))
}

/// Runs Argon2id on one thread per core; waiting callers queue asynchronously and hold no
/// blocking thread.
#[derive(Clone)]
pub struct PasswordHasher {
    /// Hashes admitted to the threads' queue: two per core (one running, one next).
    permits: Arc<Semaphore>,
    queue: Arc<JobQueueHandle>,
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self {
            permits: Arc::new(Semaphore::new(2 * cores)),
            queue: Arc::new(JobQueueHandle(spawn_hashing_threads(cores))),
            // Verified against when the account does not exist, so that an unknown user costs
            // the same time as a wrong password.
            dummy_hash: Arc::new(hash_now("not a real password; only spends time").unwrap_or_default()),
        }
    }

    pub async fn hash(&self, password: Secret<String>) -> anyhow::Result<String> {
        self.on_pool(move |memory| hash_with(memory, password.expose())).await?
    }

    /// Verifies `password` against `hash`, or against the dummy hash when there is none.
    /// A missing hash always answers `false`, after the same work.
    pub async fn verify(&self, password: Secret<String>, hash: Option<String>) -> anyhow::Result<bool> {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let ok = self.on_pool(move |memory| verify_with(memory, password.expose().as_bytes(), &hash)).await?;
        Ok(ok && real)
    }

    /// Working-memory buffers the hashing threads hold right now.
    pub fn resident_buffers(&self) -> usize {
        self.queue.0.resident.load(Ordering::SeqCst)
    }

    async fn on_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        let (done, result) = tokio::sync::oneshot::channel();
        self.queue.0.push(Box::new(move |memory: &mut Vec<Block>| {
            let _ = done.send(f(memory));
        }));
        result.await.map_err(|_| anyhow::anyhow!("a hashing thread failed"))
    }
}

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The hashing threads' queue. A condition variable rather than a channel: every idle thread
/// waits with its own timeout, after which it gives its buffer back.
struct JobQueue {
    state: Mutex<Queued>,
    ready: Condvar,
    resident: AtomicUsize,
}

#[derive(Default)]
struct Queued {
    jobs: VecDeque<Job>,
    closed: bool,
}

impl JobQueue {
    fn push(&self, job: Job) {
        if let Ok(mut state) = self.state.lock() {
            state.jobs.push_back(job);
            self.ready.notify_one();
        }
        // A poisoned lock drops the job, and with it its sender: the caller sees the failure.
    }

    /// The next job, or `None` once the hasher is gone. `memory` is given back when the thread
    /// has waited `RELEASE_AFTER` with nothing to do.
    fn next(&self, memory: &mut Vec<Block>) -> Option<Job> {
        let mut state = self.state.lock().ok()?;
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            if memory.capacity() == 0 {
                state = self.ready.wait(state).ok()?;
            } else {
                let (guard, waited) = self.ready.wait_timeout(state, RELEASE_AFTER).ok()?;
                state = guard;
                if waited.timed_out() && state.jobs.is_empty() {
                    *memory = Vec::new();
                    self.resident.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }
}

/// The hashers' hold on the queue (the threads hold the queue itself).
struct JobQueueHandle(Arc<JobQueue>);

/// Ends the hashing threads with the last [`PasswordHasher`].
impl Drop for JobQueueHandle {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.closed = true;
        }
        self.0.ready.notify_all();
    }
}

/// `n` threads that run hashing jobs at the lowest priority, each with a buffer of its own.
fn spawn_hashing_threads(n: usize) -> Arc<JobQueue> {
    let queue = Arc::new(JobQueue { state: Mutex::default(), ready: Condvar::new(), resident: AtomicUsize::new(0) });
    for i in 0..n {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || {
            lower_this_threads_priority();
            let mut memory = Vec::new();
            while let Some(job) = queue.next(&mut memory) {
                // The buffer is made (and counted) before the job runs: a job hands its result
                // over before it returns, and whoever receives it may read the count at once.
                if memory.capacity() == 0 {
                    memory = working_memory(params().block_count());
                    queue.resident.fetch_add(1, Ordering::SeqCst);
                }
                job(&mut memory);
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a hashing thread");
        }
    }
    queue
}

/// Nice 19 for the calling thread only (on Linux, a thread id names one thread). Lowering
/// one's own priority needs no privilege; where it fails, hashing simply keeps normal priority.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19) {
        tracing::warn!(error = %e, "could not lower the priority of a hashing thread");
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

fn hash_with(memory: &mut Vec<Block>, password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let argon = argon2();
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if memory.len() < params().block_count() {
        *memory = working_memory(params().block_count());
    }
    argon
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, memory.as_mut_slice())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let output = argon2::password_hash::Output::new(&out).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(&params()).map_err(|e| anyhow::anyhow!("{e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Hashes synchronously (CLI and start-up); the working memory goes back to the system after.
pub fn hash_now(password: &str) -> anyhow::Result<String> {
    hash_with(&mut working_memory(params().block_count()), password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters() {
        let h = hash_now("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    }

    #[test]
    fn hashes_agree_with_the_argon2_crate_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let ours = hash_now("correct horse battery").expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(argon2().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(argon2().verify_password(b"correct horse batterx", &parsed).is_err());
        let salt = SaltString::encode_b64(b"sixteen bytes!!!").expect("salt");
        let theirs = argon2().hash_password(b"correct horse battery", &salt).expect("hash").to_string();
        let mut memory = working_memory(8);
        assert!(verify_with(&mut memory, b"correct horse battery", &theirs), "a small buffer is replaced");
        assert!(verify_with(&mut memory, b"correct horse battery", &theirs), "and then reused");
        assert!(!verify_with(&mut memory, b"correct horse batterx", &theirs));
        assert!(!verify_with(&mut memory, b"correct horse battery", "not a hash"));
        // Other parameters (an older hash) still verify.
        let light = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).expect("p"));
        let old = light.hash_password(b"pw", &salt).expect("hash").to_string();
        assert!(verify_with(&mut memory, b"pw", &old));
    }

    #[tokio::test]
    async fn working_memory_is_released_after_an_idle_moment() {
        let hasher = PasswordHasher::new();
        hasher.verify(Secret::new("x".into()), None).await.expect("v");
        assert_eq!(hasher.resident_buffers(), 1, "kept for a following hash");
        hasher.verify(Secret::new("x".into()), None).await.expect("v");
        assert!(hasher.resident_buffers() <= 2, "one buffer a thread at most");
        tokio::time::sleep(RELEASE_AFTER + Duration::from_millis(300)).await;
        assert_eq!(hasher.resident_buffers(), 0, "given back once idle");
    }

    /// Two hashes a core are admitted, so a thread finds its next job queued when one ends; the
    /// threads themselves stay one per core.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hash_is_queued_behind_each_running_one() {
        let hasher = PasswordHasher::new();
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        assert_eq!(hasher.permits.available_permits(), 2 * cores);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let started = Arc::new(AtomicUsize::new(0));
        let mut running = Vec::new();
        for _ in 0..2 * cores {
            let (hasher, gate, started) = (hasher.clone(), gate.clone(), started.clone());
            running.push(tokio::spawn(async move {
                hasher
                    .on_pool(move |_| {
                        started.fetch_add(1, Ordering::SeqCst);
                        let _ = gate.lock().expect("gate").recv();
                    })
                    .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(hasher.permits.available_permits(), 0, "all admitted");
        assert_eq!(started.load(Ordering::SeqCst), cores, "one running on each thread");
        assert_eq!(hasher.queue.0.state.lock().expect("queue").jobs.len(), cores, "one queued behind each");
        for _ in 0..2 * cores {
            release.send(()).expect("release");
        }
        for r in running {
            r.await.expect("task").expect("hashed");
        }
        assert_eq!(started.load(Ordering::SeqCst), 2 * cores);
    }

    #[tokio::test]
    async fn verification_accepts_the_password_and_nothing_else() {
        let hasher = PasswordHasher::new();
        let h = hasher.hash(Secret::new("correct horse battery".into())).await.expect("hash");
        assert!(hasher.verify(Secret::new("correct horse battery".into()), Some(h.clone())).await.expect("v"));
        assert!(!hasher.verify(Secret::new("wrong horse battery".into()), Some(h)).await.expect("v"));
        assert!(!hasher.verify(Secret::new("anything".into()), None).await.expect("v"));
    }

    /// Hashing must never starve the rest: it runs on threads of its own at nice 19.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_on_threads_of_the_lowest_priority() {
        let hasher = PasswordHasher::new();
        let seen = hasher
            .on_pool(|_| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
                let comm = std::fs::read_to_string("/proc/thread-self/comm").expect("comm");
                // Fields after the parenthesised name: state is field 3, nice is field 19.
                let after = &stat[stat.rfind(')').expect(")") + 2..];
                let nice: i32 = after.split(' ').nth(16).expect("nice").parse().expect("number");
                (comm.trim().to_string(), nice)
            })
            .await
            .expect("ran");
        assert!(seen.0.starts_with("argon2-"), "a hashing thread: {}", seen.0);
        assert_eq!(seen.1, 19, "nice value of a hashing thread");
    }
}
