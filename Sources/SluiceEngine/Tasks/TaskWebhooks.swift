import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SluiceCore
import SluiceStore

/// Posts a task that reached its end to its `webhook_url`, signed with
/// `X-Sluice-Signature: sha256=HEX` (HMAC-SHA256 of the body under
/// `tasks.webhook_secret`), three tries with backoff, each attempt recorded.
public struct TaskWebhooks: Sendable {
    let store: any TaskStore
    let secret: String?
    let clock: any WallClock
    let logger: Logger

    /// Delivers `task` when it has a webhook and is over.
    public func deliver(_ task: TaskRecord) async {
        guard let url = task.webhookURL, task.status.isTerminal else { return }
        let body = TaskService.json(task).serialized()
        for attempt in 1...3 {
            var req = HTTPClientRequest(url: url)
            req.method = .POST
            req.headers.add(name: "content-type", value: "application/json")
            if let secret { req.headers.add(name: "X-Sluice-Signature", value: "sha256=" + Hashing.hmacSHA256Hex(key: secret, message: body)) }
            req.body = .bytes(ByteBuffer(bytes: body))
            var status: Int?
            var failure: String?
            do {
                let res = try await HTTPClient.shared.execute(req, timeout: .seconds(10))
                status = Int(res.status.code)
                if !(200..<300).contains(status!) { failure = "HTTP \(status!)" }
            } catch {
                failure = "\(error)"
            }
            try? await store.recordWebhookAttempt(WebhookAttempt(taskID: task.id, attempt: attempt, at: clock.now(), status: status, error: failure))
            if failure == nil { return }
            if attempt < 3 { try? await Task.sleep(for: .milliseconds(500 << (attempt - 1))) }
        }
        logger.error("task webhook failed after 3 tries", metadata: ["task_id": "\(task.id)", "url": "\(url)"])
    }
}
