import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SluiceCore
import SluiceStore
import Synchronization

/// Posts a task that reached its end to its `webhook_url`, signed with
/// `X-Sluice-Signature: sha256=HEX` (HMAC-SHA256 of the body under
/// `tasks.webhook_secret`, or the admin key; unsigned when neither is set),
/// three tries with backoff, each attempt recorded (``TaskStore/recordWebhookAttempt(_:)``).
///
/// Delivery happens in the background: ``send(_:)`` queues the task and returns at
/// once, so neither `POST /v1/tasks/{id}/cancel` nor a worker slot waits on the
/// receiver. Callers send only after the row is final. At most
/// ``concurrency`` deliveries run at once on a node; on graceful shutdown the
/// service waits (up to ``drainLimit``) for the queued and running ones.
///
/// ```swift
/// if let ended = try await store.finishTask(…) { webhooks.send(ended) }
/// ```
public final class TaskWebhooks: Service, Sendable {
    struct State {
        var queue: [TaskRecord] = []
        var running = 0
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let store: any TaskStore
    let secret: String?
    let clock: any WallClock
    let logger: Logger
    private let state = Mutex(State())
    private let pause: Mutex<@Sendable (Duration) async -> Void>

    /// The waits before the second and third tries.
    public static let backoff: [Duration] = [.milliseconds(500), .seconds(1)]
    /// How long one try may take.
    static let attemptTimeout: TimeAmount = .seconds(10)
    /// Deliveries running at once on a node; more wait in the queue.
    static let concurrency = 16
    /// How long a graceful shutdown waits for deliveries in flight.
    static let drainLimit: Duration = .seconds(15)

    /// Deliveries signed with `secret` (none when `nil`), their attempts recorded in `store` at `clock`'s time.
    public init(store: any TaskStore, secret: String?, clock: any WallClock, logger: Logger) {
        self.store = store
        self.secret = secret
        self.clock = clock
        self.logger = logger
        self.pause = Mutex({ try? await Task.sleep(for: $0) })
    }

    /// Replaces how the backoff waits (tests record the waits instead of sleeping).
    public func setPause(_ pause: @escaping @Sendable (Duration) async -> Void) {
        self.pause.withLock { $0 = pause }
    }

    /// Deliveries queued or running on this node.
    public var inFlight: Int { state.withLock { $0.queue.count + $0.running } }

    /// Queues the delivery of `task` when it has a webhook and is over; returns at once.
    public func send(_ task: TaskRecord) {
        guard task.webhookURL != nil, task.status.isTerminal else { return }
        let start = state.withLock { s -> Bool in
            s.queue.append(task)
            guard s.running < Self.concurrency else { return false }
            s.running += 1
            return true
        }
        if start { Task.detached { await self.drainQueue() } }
    }

    /// Runs queued deliveries until the queue is empty; taking the next one and giving up the
    /// slot are one step, so a ``send(_:)`` racing with the end starts a new runner.
    private func drainQueue() async {
        while let next = state.withLock({ s -> TaskRecord? in
            if !s.queue.isEmpty { return s.queue.removeFirst() }
            s.running -= 1
            return nil
        }) {
            await deliver(next)
        }
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard s.queue.isEmpty, s.running == 0 else { return [] }
            defer { s.idleWaiters = [] }
            return s.idleWaiters
        }
        for w in waiters { w.resume() }
    }

    /// Returns once no delivery is queued or running (tests, shutdown).
    public func idle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.queue.isEmpty && s.running == 0 { return true }
                s.idleWaiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Waits for a graceful shutdown, then (up to ``drainLimit``) for the deliveries in flight.
    public func run() async throws {
        do { try await gracefulShutdown() } catch { return }
        let deadline = ContinuousClock.now + Self.drainLimit
        while inFlight > 0, ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(20)) } catch { break }
        }
        if inFlight > 0 {
            logger.error("task webhooks still undelivered at shutdown", metadata: ["count": "\(inFlight)"])
        }
    }

    /// Delivers `task` now, with its tries and their backoff; returns when it is delivered or given up.
    /// Attempts are numbered after the task's earlier ones (a retried task is delivered again).
    public func deliver(_ task: TaskRecord) async {
        guard let url = task.webhookURL, task.status.isTerminal else { return }
        let body = TaskService.json(task).serialized()
        let earlier = (try? await store.webhookAttempts(taskID: task.id).map(\.attempt).max()) ?? 0
        let tries = Self.backoff.count + 1
        for n in 1...tries {
            var req = HTTPClientRequest(url: url)
            req.method = .POST
            req.headers.add(name: "content-type", value: "application/json")
            if let secret { req.headers.add(name: "X-Sluice-Signature", value: "sha256=" + Hashing.hmacSHA256Hex(key: secret, message: body)) }
            req.body = .bytes(ByteBuffer(bytes: body))
            var status: Int?
            var failure: String?
            do {
                let res = try await HTTPClient.shared.execute(req, timeout: Self.attemptTimeout)
                let code = Int(res.status.code)
                status = code
                if !(200..<300).contains(code) { failure = "HTTP \(code)" }
            } catch {
                failure = "\(error)"
            }
            let attempt = WebhookAttempt(taskID: task.id, attempt: earlier + n, at: clock.now(), status: status, error: failure)
            do { try await store.recordWebhookAttempt(attempt) } catch {
                logger.warning("could not record a webhook attempt", metadata: ["task_id": "\(task.id)", "error": "\(error)"])
            }
            if failure == nil { return }
            if n < tries {
                let wait = pause.withLock { $0 }
                await wait(Self.backoff[n - 1])
            }
        }
        logger.error("task webhook failed after \(tries) tries", metadata: ["task_id": "\(task.id)", "url": "\(url)"])
    }
}
