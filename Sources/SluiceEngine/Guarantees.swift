/// The inbound APIs of the data plane, named as a call record's `surface` names them. Each is only a codec in front of the Engine
/// (``ChatService``), so every ``Policy`` holds on each of them, whole and streamed,
/// or `docs/guarantees.md` says why not; `GuaranteesMatrixTests` fails when a case
/// here has no cells there.
public enum Surface: String, CaseIterable, Sendable {
    /// `POST /v1/chat/completions`: OpenAI's chat shape, whole or streamed.
    case chat
    /// `POST /v1/messages`: Anthropic's Messages shape, whole or streamed.
    case messages
    /// `POST /v1/purposes/{purpose}/run`: a purpose's prompt rendered with variables, answered whole.
    case run
    /// `POST /v1/tasks`: durable work that ``TaskWorkers`` run later, answered whole.
    case task
    /// `POST /v1/embeddings`: OpenAI's embeddings shape, answered whole.
    case embeddings
    /// `POST /v1/responses`: OpenAI's Responses API, whole, streamed or in the background, with state Sluice keeps.
    case responses
}

/// What the Engine guarantees for every call, whichever ``Surface`` it came in on.
public enum Policy: String, CaseIterable, Sendable {
    /// A key may call only the purposes it is scoped to (`403`).
    case authScope = "auth_scope"
    /// A kill switch on a purpose, model or provider refuses or skips it (`503 disabled`).
    case killSwitch = "kill_switch"
    /// Team, key and end-user `rpm`/`tpm` and a run's call limit (`429`).
    case rateLimits = "rate_limits"
    /// Purpose, team, key, end-user and run budgets, reserved before the call (`429`).
    case budgets
    /// Personal data redacted before the provider and restored for the app, or refused (`pii: redact | block`).
    case pii
    /// The purpose's input guard rules (`400 guard_blocked`, or a flag).
    case inputGuards = "input_guards"
    /// Prompt versions and the purpose's variant split.
    case promptVariant = "prompt_variant"
    /// The response cache: exact and semantic hits, `X-Sluice-Cache` modes.
    case cache
    /// Retries, fallback chains, circuit breakers, deadlines and time-to-first-token limits.
    case routing
    /// Answers checked against a JSON schema, their JSON extracted, repaired when they fail.
    case validationRepair = "validation_repair"
    /// A purpose's `cascade`: the first model answers, a bad answer escalates to the next.
    case cascade
    /// The purpose's output guard rules (`422 output_blocked`, or a flag), under `stream_guard` on streams.
    case outputGuards = "output_guards"
    /// Answers queued for human review (`X-Sluice-Review-Id`).
    case review
    /// Sampled calls answered again by a candidate in the background.
    case shadow
    /// `Idempotency-Key`: a repeat replays the stored response instead of calling again.
    case idempotency
    /// An OpenTelemetry span per call and per attempt.
    case tracing
    /// Prometheus series per purpose, model and provider at `GET /metrics`.
    case metrics
    /// Every call is a row in the call log, failed ones included.
    case callRecord = "call_record"
}
