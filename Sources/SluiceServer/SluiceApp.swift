import Hummingbird
import Logging
import NIOCore
import SluiceEngine

/// Builds the Hummingbird application around a ``Gateway``.
///
/// ```swift
/// let app = SluiceApp.build(gateway: gateway)
/// try await app.runService()   // SIGTERM: stop accepting, finish requests, drain the call log
/// ```
public enum SluiceApp {
    /// The router with every route collection.
    public static func router(gateway: Gateway) -> Router<SluiceRequestContext> {
        let router = Router(context: SluiceRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: IdentityMiddleware(keyRing: gateway.keyRing, throttle: gateway.authThrottle))
        router.add(middleware: IdempotencyMiddleware(gate: gateway.idempotency, maxBodyBytes: gateway.config.server.maxBodyBytes))
        if let traces = gateway.traces { router.add(middleware: TraceContextMiddleware(traces: traces)) }
        let chat = ChatRoutes(gateway: gateway)
        chat.register(on: router)
        MessagesRoutes(chat: chat).register(on: router)
        ResponsesRoutes(chat: chat).register(on: router)
        HealthRoutes(gateway: gateway).register(on: router)
        AdminCallsRoutes(gateway: gateway).register(on: router)
        AdminControlRoutes(gateway: gateway).register(on: router)
        AdminKeyRoutes(gateway: gateway).register(on: router)
        AdminEndUserRoutes(gateway: gateway).register(on: router)
        PurposeRoutes(chat: chat).register(on: router)
        TaskRoutes(chat: chat).register(on: router)
        AdminCacheRoutes(gateway: gateway).register(on: router)
        AdminReviewRoutes(gateway: gateway).register(on: router)
        AdminCostRoutes(gateway: gateway).register(on: router)
        AdminFlagRoutes(gateway: gateway).register(on: router)
        AdminDriftRoutes(gateway: gateway).register(on: router)
        AdminWeeklyReviewRoutes(gateway: gateway).register(on: router)
        FeedbackRoutes(chat: chat).register(on: router)
        AdminShadowRoutes(gateway: gateway).register(on: router)
        DashboardRoutes(gateway: gateway).register(on: router)
        return router
    }

    /// The application: the HTTP server plus the call-log writer as a service.
    /// Services stop in reverse order, so the server finishes its requests
    /// before the call log drains.
    public static func build(
        gateway: Gateway, port: Int? = nil,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let server = gateway.config.server
        return Application(
            router: router(gateway: gateway),
            server: .http1(),
            // A listen queue of 256 (the default) dropped connections when 1,000 clients connected at once.
            configuration: .init(address: .hostname(server.host, port: port ?? server.port), serverName: nil, backlog: 4096),
            services: gateway.services,
            onServerRunning: onServerRunning,
            logger: gateway.logger)
    }
}
