import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceEngine
import Synchronization

/// Applies the `Idempotency-Key` header to a chat endpoint: a stored response is
/// replayed (with `Idempotent-Replayed: true`); otherwise the request runs and a
/// 2xx response is stored as the client received it — a stream's events included —
/// before the response ends, so a retry right after sees it. A failed or
/// broken response gives the key up.
struct IdempotentResponder {
    let gate: IdempotencyGate
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    /// Runs `respond` under the request's idempotency key, if it has one. `completed`
    /// tells, once the body is written, whether it ended as a full answer (a stream may break).
    func run(
        _ request: Request, path: String, body: [UInt8], identity: Identity,
        _ respond: () async throws -> (Response, completed: @Sendable () -> Bool)
    ) async throws -> Response {
        guard let key = request.headers[Self.header] else { return try await respond().0 }
        switch try await gate.begin(key: key, path: path, body: body, identity: identity) {
        case .replay(let status, let headers, let stored):
            var fields = HTTPFields()
            for (name, value) in headers { if let n = HTTPField.Name(name) { fields.append(HTTPField(name: n, value: value)) } }
            fields[Self.replayed] = "true"
            return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: stored)))
        case .proceed(let ticket):
            let response: Response, completed: @Sendable () -> Bool
            do {
                (response, completed) = try await respond()
            } catch {
                await gate.release(ticket)
                throw error
            }
            guard (200..<300).contains(Int(response.status.code)) else {
                await gate.release(ticket)
                return response
            }
            let headers = response.headers.filter { $0.name != .contentLength && $0.name != .date }.map { ($0.name.canonicalName, $0.value) }
            let status = Int(response.status.code)
            let gate = self.gate
            let original = response.body
            return Response(
                status: response.status, headers: response.headers,
                body: ResponseBody { writer in
                    let end = OnceEnd { bytes in
                        if let bytes, completed() {
                            await gate.complete(ticket, status: status, headers: headers, body: bytes)
                        } else {
                            await gate.release(ticket)
                        }
                    }
                    do {
                        try await original.write(TeeWriter(parent: writer, end: end, expected: original.contentLength))
                    } catch {
                        await end.fire(nil)
                        throw error
                    }
                    await end.fire(nil)
                })
        }
    }
}

/// Runs its action once, with the first value given.
final class OnceEnd: Sendable {
    private let fired = Atomic<Bool>(false)
    private let action: @Sendable ([UInt8]?) async -> Void

    init(_ action: @escaping @Sendable ([UInt8]?) async -> Void) { self.action = action }

    /// Runs the action unless it ran already.
    func fire(_ bytes: [UInt8]?) async {
        guard fired.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        await action(bytes)
    }
}

/// Passes a body through to the client while keeping a copy; the copy (or `nil` when it
/// grew past the stored limit) is handed to `end` before the client can see the response
/// end: before the last bytes of a body of known length (the client stops reading there),
/// otherwise before the final chunk.
struct TeeWriter: ResponseBodyWriter {
    var parent: any ResponseBodyWriter
    let end: OnceEnd
    let expected: Int?
    private var copy: [UInt8]? = []
    private var written = 0

    init(parent: any ResponseBodyWriter, end: OnceEnd, expected: Int?) {
        self.parent = parent
        self.end = end
        self.expected = expected
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        if let count = copy?.count {
            if count + buffer.readableBytes > IdempotencyGate.maxBodyBytes { copy = nil } else { copy!.append(contentsOf: buffer.readableBytesView) }
        }
        written += buffer.readableBytes
        if let expected, written >= expected { await end.fire(copy) }
        try await parent.write(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        await end.fire(copy)
        try await parent.finish(trailingHeaders)
    }
}
