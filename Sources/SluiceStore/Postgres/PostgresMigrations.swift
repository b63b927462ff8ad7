import Foundation
import Logging
import PostgresNIO

/// PostgreSQL schema migrations. Each migration is a list of statements run in
/// one transaction under an advisory lock, so nodes starting together apply it once.
enum PostgresMigrations {
    static let all: [(id: String, statements: [String])] = [
        (
            "001_calls",
            [
                """
                CREATE TABLE calls (
                    call_id TEXT PRIMARY KEY,
                    created_at_ms BIGINT NOT NULL,
                    run_id TEXT, purpose TEXT NOT NULL, "user" TEXT, key_name TEXT,
                    prompt_name TEXT, prompt_version TEXT, variant TEXT,
                    model TEXT NOT NULL, provider TEXT, answered_model TEXT,
                    status TEXT NOT NULL, error TEXT, http_status BIGINT NOT NULL,
                    attempts TEXT NOT NULL, cache TEXT NOT NULL, stream BIGINT NOT NULL,
                    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
                    cached_tokens BIGINT NOT NULL, cache_write_tokens BIGINT NOT NULL,
                    cost_usd DOUBLE PRECISION, saved_usd DOUBLE PRECISION NOT NULL,
                    latency_ms DOUBLE PRECISION NOT NULL, ttft_ms DOUBLE PRECISION, overhead_ms DOUBLE PRECISION,
                    schema_valid BIGINT, refusal BIGINT,
                    params TEXT NOT NULL, input_hash TEXT NOT NULL,
                    request_body TEXT, output TEXT
                )
                """,
                "CREATE INDEX calls_created ON calls (created_at_ms)",
                "CREATE INDEX calls_purpose_created ON calls (purpose, created_at_ms)",
                "CREATE INDEX calls_run ON calls (run_id) WHERE run_id IS NOT NULL",
                """
                CREATE TABLE api_keys (
                    name TEXT PRIMARY KEY,
                    key_hash TEXT NOT NULL UNIQUE,
                    purposes TEXT NOT NULL,
                    created_at_ms BIGINT NOT NULL
                )
                """,
            ]
        ),
        (
            "002_quota_queue",
            [
                """
                CREATE TABLE quota_pools (
                    scope TEXT NOT NULL, window_key TEXT NOT NULL,
                    cap BIGINT NOT NULL, allocated BIGINT NOT NULL, used BIGINT NOT NULL,
                    last_grant BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL,
                    PRIMARY KEY (scope, window_key)
                )
                """,
                """
                CREATE TABLE quota_leases (
                    lease_id TEXT PRIMARY KEY,
                    scope TEXT NOT NULL, window_key TEXT NOT NULL, node TEXT NOT NULL,
                    amount BIGINT NOT NULL, used BIGINT NOT NULL,
                    expires_at_ms BIGINT NOT NULL, settled_at_ms BIGINT
                )
                """,
                "CREATE INDEX quota_leases_open ON quota_leases (expires_at_ms) WHERE settled_at_ms IS NULL",
                """
                CREATE TABLE work_queue (
                    item_id TEXT PRIMARY KEY,
                    queue TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL,
                    available_at_ms BIGINT NOT NULL, attempts BIGINT NOT NULL,
                    claimed_by TEXT, heartbeat_at_ms BIGINT,
                    created_at_ms BIGINT NOT NULL, finished_at_ms BIGINT
                )
                """,
                "CREATE INDEX work_queue_ready ON work_queue (queue, status, available_at_ms)",
            ]
        ),
        (
            "003_controls",
            [
                """
                CREATE TABLE kill_switches (
                    scope TEXT NOT NULL, name TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL,
                    created_at_ms BIGINT NOT NULL,
                    PRIMARY KEY (scope, name)
                )
                """,
                """
                CREATE TABLE audit_log (
                    audit_id TEXT PRIMARY KEY,
                    at_ms BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
                    reason TEXT, old_value TEXT, new_value TEXT
                )
                """,
            ]
        ),
        (
            "004_cache",
            [
                """
                CREATE TABLE cache_entries (
                    key TEXT PRIMARY KEY,
                    scope TEXT NOT NULL, purpose TEXT NOT NULL, prompt_version TEXT,
                    model TEXT NOT NULL, provider TEXT, answered_model TEXT,
                    body BYTEA NOT NULL,
                    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION,
                    created_at_ms BIGINT NOT NULL, expires_at_ms BIGINT NOT NULL,
                    embedding BYTEA
                )
                """,
                "CREATE INDEX cache_entries_scope_created ON cache_entries (scope, created_at_ms)",
                "CREATE INDEX cache_entries_expires ON cache_entries (expires_at_ms)",
                "CREATE INDEX cache_entries_purpose ON cache_entries (purpose)",
                "ALTER TABLE calls ADD COLUMN cache_similarity DOUBLE PRECISION",
            ]
        ),
        (
            "005_reviews",
            [
                """
                CREATE TABLE reviews (
                    id TEXT PRIMARY KEY,
                    call_id TEXT NOT NULL, task_id TEXT, purpose TEXT NOT NULL, reason TEXT NOT NULL,
                    status TEXT NOT NULL, output TEXT NOT NULL, edited_output TEXT,
                    created_at_ms BIGINT NOT NULL, decided_at_ms BIGINT, decided_by TEXT, note TEXT
                )
                """,
                "CREATE INDEX reviews_status ON reviews (status, id)",
                "CREATE INDEX reviews_purpose ON reviews (purpose, id)",
                "ALTER TABLE calls ADD COLUMN repairs BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE calls ADD COLUMN guard_flags TEXT",
            ]
        ),
        (
            "006_ledger",
            [
                """
                CREATE TABLE ledger (
                    call_id TEXT PRIMARY KEY,
                    at_ms BIGINT NOT NULL, kind TEXT NOT NULL, purpose TEXT NOT NULL,
                    key_name TEXT, user_id TEXT, run_id TEXT, model TEXT NOT NULL, provider TEXT, prompt_version TEXT,
                    cost_usd DOUBLE PRECISION NOT NULL, saved_usd DOUBLE PRECISION NOT NULL,
                    input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL
                )
                """,
                "CREATE INDEX ledger_at ON ledger (at_ms)",
                "CREATE INDEX ledger_purpose_at ON ledger (purpose, at_ms)",
                // An upgraded database keeps its totals: entries for the calls already logged.
                LedgerColumns.backfillSQL(user: #""user""#),
            ]
        ),
        (
            "007_tasks",
            [
                """
                CREATE TABLE tasks (
                    id TEXT PRIMARY KEY,
                    purpose TEXT NOT NULL, idempotency_key TEXT, request_hash TEXT NOT NULL, request TEXT NOT NULL,
                    key_name TEXT, webhook_url TEXT, status TEXT NOT NULL,
                    attempt_count BIGINT NOT NULL, max_attempts BIGINT NOT NULL,
                    created_at_ms BIGINT NOT NULL, started_at_ms BIGINT, finished_at_ms BIGINT, heartbeat_at_ms BIGINT,
                    worker TEXT, error_message TEXT, result TEXT, call_ids TEXT NOT NULL DEFAULT '[]'
                )
                """,
                """
                CREATE UNIQUE INDEX tasks_idempotency ON tasks ((COALESCE(key_name, '')), idempotency_key)
                WHERE idempotency_key IS NOT NULL
                """,
                "CREATE INDEX tasks_status ON tasks (status, id)",
                "CREATE INDEX tasks_purpose ON tasks (purpose, id)",
                """
                CREATE TABLE task_webhooks (
                    task_id TEXT NOT NULL, attempt BIGINT NOT NULL, at_ms BIGINT NOT NULL, status BIGINT, error TEXT,
                    PRIMARY KEY (task_id, attempt)
                )
                """,
            ]
        ),
        (
            "008_batches",
            [
                """
                CREATE TABLE task_batches (
                    id TEXT PRIMARY KEY,
                    purpose TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, upstream_id TEXT,
                    status TEXT NOT NULL, task_ids TEXT NOT NULL, items TEXT NOT NULL,
                    created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL, error TEXT
                )
                """,
                "CREATE INDEX task_batches_status ON task_batches (status, id)",
                "ALTER TABLE calls ADD COLUMN batch_id TEXT",
            ]
        ),
        (
            "009_idempotency",
            [
                """
                CREATE TABLE idempotent_responses (
                    scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, created_at_ms BIGINT NOT NULL,
                    completed_at_ms BIGINT, status BIGINT, headers TEXT, body TEXT,
                    PRIMARY KEY (scope, key)
                )
                """,
                "CREATE INDEX idempotent_responses_created ON idempotent_responses (created_at_ms)",
            ]
        ),
        (
            "010_flags",
            [
                """
                CREATE TABLE flags (
                    key TEXT PRIMARY KEY, value TEXT NOT NULL, actor TEXT NOT NULL, updated_at_ms BIGINT NOT NULL
                )
                """
            ]
        ),
        (
            "011_experiments",
            [
                """
                CREATE TABLE feedback (
                    id TEXT PRIMARY KEY,
                    call_id TEXT, task_id TEXT, purpose TEXT, score DOUBLE PRECISION NOT NULL,
                    label TEXT, comment TEXT, action TEXT, key_name TEXT, created_at_ms BIGINT NOT NULL
                )
                """,
                "CREATE INDEX feedback_call ON feedback (call_id)",
                "CREATE INDEX feedback_purpose_created ON feedback (purpose, created_at_ms)",
                "ALTER TABLE calls ADD COLUMN shadow_of TEXT",
                "CREATE INDEX calls_shadow_of ON calls (shadow_of) WHERE shadow_of IS NOT NULL",
            ]
        ),
        (
            "012_evals",
            [
                """
                CREATE TABLE eval_slots (
                    suite TEXT NOT NULL, slot BIGINT NOT NULL, node TEXT NOT NULL, at_ms BIGINT NOT NULL,
                    PRIMARY KEY (suite, slot)
                )
                """,
                """
                CREATE TABLE eval_scores (
                    id TEXT PRIMARY KEY, suite TEXT NOT NULL, purpose TEXT NOT NULL, prompt_version TEXT,
                    model TEXT NOT NULL, answered_model TEXT, cases BIGINT NOT NULL, pass_rate DOUBLE PRECISION NOT NULL,
                    judge_mean DOUBLE PRECISION, cost_usd DOUBLE PRECISION NOT NULL, at_ms BIGINT NOT NULL
                )
                """,
                "CREATE INDEX eval_scores_purpose ON eval_scores (purpose, at_ms)",
            ]
        ),
        (
            "013_rollups",
            [
                RollupColumns.createSQL(integer: "BIGINT", real: "DOUBLE PRECISION"),
                // An upgraded database starts with the rollups of the calls already logged.
                RollupColumns.backfillSQL(bound: RollupColumns.postgresBound),
            ]
        ),
        // The generic work queue was never used (tasks have their own table).
        ("014_drop_work_queue", ["DROP TABLE IF EXISTS work_queue"]),
        ("015_responses", ResponseColumns.createSQL(integer: "BIGINT", primaryKey: "PRIMARY KEY")),
        ("016_call_surface", ["ALTER TABLE calls ADD COLUMN IF NOT EXISTS surface TEXT"]),
        ("017_runtime_keys", RuntimeKeyColumns.createSQL(integer: "BIGINT", real: "DOUBLE PRECISION")),
        ("018_quota_reserved", ["ALTER TABLE quota_leases ADD COLUMN IF NOT EXISTS reserved BIGINT NOT NULL DEFAULT 0"]),
        ("019_end_users", EndUserColumns.createSQL(integer: "BIGINT", real: "DOUBLE PRECISION")),
        ("021_call_tool_calls_and_drift", CallColumns.migration021(integer: "BIGINT", real: "DOUBLE PRECISION", ifNotExists: "IF NOT EXISTS ")),
        ("022_review_periods", PeriodReviewSQL.createSQL(integer: "BIGINT")),
        ("023_call_guard_verdicts", ["ALTER TABLE calls ADD COLUMN IF NOT EXISTS guard_verdicts TEXT"]),
    ]

    /// Applies the pending migrations. When none is pending nothing is locked or created, so a
    /// role without `CREATE` (tables made by another role) can start; otherwise, under an advisory
    /// lock in one transaction, the schema and the `sluice_migrations` table are created if missing
    /// and each pending migration is applied and recorded. Names are schema-qualified and
    /// `search_path` is set, whatever the role's default.
    /// `through` stops after that migration (tests build an older schema with it).
    static func run(on store: PostgresStore, through: String? = nil) async throws {
        let schema = store.url.schema
        let logger = store.logger
        let done = try await store.run("migrate", timeout: .seconds(30)) { client in
            try await client.withConnection { conn in try await appliedIDs(conn, schema: schema, logger: logger) }
        }
        let wanted = through.flatMap { id in all.firstIndex { $0.id == id }.map { Array(all[...$0]) } } ?? all
        guard wanted.contains(where: { !done.contains($0.id) }) else { return }
        try await store.run("migrate", timeout: .seconds(120)) { client in
            try await client.withTransaction(logger: logger) { conn in
                // The connection's statement_timeout follows the store's short limit; a migration
                // (and the wait for another node's) gets the migration limit instead.
                try await conn.query(PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = 121000"), logger: logger)
                try await conn.query(
                    PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock(hashtext('sluice_migrate_\(schema)'))"),
                    logger: logger)
                try await conn.query(PostgresQuery(unsafeSQL: #"CREATE SCHEMA IF NOT EXISTS "\#(schema)""#), logger: logger)
                try await conn.query(PostgresQuery(unsafeSQL: #"SET LOCAL search_path TO "\#(schema)""#), logger: logger)
                try await conn.query(
                    PostgresQuery(
                        unsafeSQL: #"""
                            CREATE TABLE IF NOT EXISTS "\#(schema)".sluice_migrations
                            (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                            """#), logger: logger)
                let applied = try await appliedIDs(conn, schema: schema, logger: logger)
                for m in wanted where !applied.contains(m.id) {
                    for statement in m.statements {
                        try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await conn.query(
                        PostgresQuery(
                            unsafeSQL: #"INSERT INTO "\#(schema)".sluice_migrations (id) VALUES ($1)"#,
                            binds: { var b = PostgresBindings(); b.append(m.id); return b }()),
                        logger: logger)
                    logger.info("migration applied", metadata: ["id": "\(m.id)", "backend": "postgres"])
                }
            }
        }
    }

    /// The ids in the schema's `sluice_migrations`, or none when the table does not exist yet.
    static func appliedIDs(_ conn: PostgresConnection, schema: String, logger: Logger) async throws -> Set<String> {
        let table = #""\#(schema)".sluice_migrations"#
        let exists = try await conn.query(
            PostgresQuery(unsafeSQL: "SELECT to_regclass($1) IS NOT NULL", binds: { var b = PostgresBindings(); b.append(table); return b }()),
            logger: logger
        ).collect().first?.decode(Bool.self) ?? false
        guard exists else { return [] }
        var ids = Set<String>()
        for try await id in try await conn.query(PostgresQuery(unsafeSQL: "SELECT id FROM \(table)"), logger: logger).decode(String.self) {
            ids.insert(id)
        }
        return ids
    }
}
