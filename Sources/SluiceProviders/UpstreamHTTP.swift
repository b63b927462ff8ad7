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
        var call = call
        for (name, value) in UpstreamTraceHeaders.current { call.headers.replaceOrAdd(name: name, value: value) }
        let response: HTTPClientResponse
        do {
            response = try await clients.client(for: loop).execute(call.clientRequest, timeout: timeout)
        } catch {
            throw OpenAIProvider.mapTransportError(error)
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let bytes = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            throw OpenAIProvider.httpError(status: status, body: bytes, headers: response.headers, secret: secret)
        }
        return response
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
