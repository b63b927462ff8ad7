import AsyncHTTPClient
import NIOCore

/// The HTTP exchange every provider makes: send, turn transport failures and
/// non-2xx answers into ``ProviderError``s, read a whole body.
enum UpstreamHTTP {
    /// Sends `call` from the client of `loop`. A transport failure or a non-2xx answer
    /// throws; `secret` (the provider key) is scrubbed from the upstream's error message.
    static func send(
        _ call: UpstreamCall, clients: HTTPClients, loop: (any EventLoop)?, timeout: TimeAmount, secret: String?
    ) async throws(ProviderError) -> HTTPClientResponse {
        let response = try await exchange(call, clients: clients, loop: loop, timeout: timeout)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw await failure(of: response, secrets: secret.map { [$0] } ?? [])
        }
        return response
    }

    /// Sends `call` from the client of `loop` with the attempt's trace headers; any status is returned, a transport failure throws.
    static func exchange(
        _ call: UpstreamCall, clients: HTTPClients, loop: (any EventLoop)?, timeout: TimeAmount
    ) async throws(ProviderError) -> HTTPClientResponse {
        var call = call
        for (name, value) in UpstreamTraceHeaders.current { call.headers.replaceOrAdd(name: name, value: value) }
        do {
            return try await clients.client(for: loop).execute(call.clientRequest, timeout: timeout)
        } catch {
            throw OpenAIProvider.mapTransportError(error)
        }
    }

    /// The error a non-2xx `response` stands for, its body read (up to 1 MiB) and `secrets` scrubbed from its message.
    static func failure(of response: HTTPClientResponse, secrets: [String]) async -> ProviderError {
        let bytes = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
        return OpenAIProvider.httpError(status: Int(response.status.code), body: bytes, headers: response.headers, secrets: secrets)
    }

    /// The whole body of an answer, up to ``OpenAIProvider/maxBodyBytes``.
    static func body(of response: HTTPClientResponse) async throws(ProviderError) -> [UInt8] {
        do {
            return Array(try await response.body.collect(upTo: OpenAIProvider.maxBodyBytes).readableBytesView)
        } catch {
            throw OpenAIProvider.mapTransportError(error)
        }
    }
}
