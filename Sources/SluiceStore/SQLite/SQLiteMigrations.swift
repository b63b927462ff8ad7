import GRDB

enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("001_calls") { db in
            try db.execute(
                sql: """
                    CREATE TABLE calls (
                        call_id TEXT PRIMARY KEY NOT NULL,
                        created_at_ms INTEGER NOT NULL,
                        run_id TEXT, purpose TEXT NOT NULL, user TEXT, key_name TEXT,
                        prompt_name TEXT, prompt_version TEXT, variant TEXT,
                        model TEXT NOT NULL, provider TEXT, answered_model TEXT,
                        status TEXT NOT NULL, error TEXT, http_status INTEGER NOT NULL,
                        attempts TEXT NOT NULL, cache TEXT NOT NULL, stream INTEGER NOT NULL,
                        input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
                        cached_tokens INTEGER NOT NULL, cache_write_tokens INTEGER NOT NULL,
                        cost_usd REAL, saved_usd REAL NOT NULL,
                        latency_ms REAL NOT NULL, ttft_ms REAL, overhead_ms REAL,
                        schema_valid INTEGER, refusal INTEGER,
                        params TEXT NOT NULL, input_hash TEXT NOT NULL,
                        request_body TEXT, output TEXT
                    );
                    CREATE INDEX calls_created ON calls(created_at_ms);
                    CREATE INDEX calls_purpose_created ON calls(purpose, created_at_ms);
                    CREATE INDEX calls_run ON calls(run_id) WHERE run_id IS NOT NULL;
                    CREATE TABLE api_keys (
                        name TEXT PRIMARY KEY NOT NULL,
                        key_hash TEXT NOT NULL UNIQUE,
                        purposes TEXT NOT NULL,
                        created_at_ms INTEGER NOT NULL
                    );
                    """)
        }
        m.registerMigration("002_quota_queue") { db in
            try db.execute(
                sql: """
                    CREATE TABLE quota_pools (
                        scope TEXT NOT NULL, window_key TEXT NOT NULL,
                        cap INTEGER NOT NULL, allocated INTEGER NOT NULL, used INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (scope, window_key)
                    );
                    CREATE TABLE quota_leases (
                        lease_id TEXT PRIMARY KEY NOT NULL,
                        scope TEXT NOT NULL, window_key TEXT NOT NULL, node TEXT NOT NULL,
                        amount INTEGER NOT NULL, used INTEGER NOT NULL,
                        expires_at_ms INTEGER NOT NULL, settled_at_ms INTEGER
                    );
                    CREATE INDEX quota_leases_open ON quota_leases(expires_at_ms) WHERE settled_at_ms IS NULL;
                    CREATE TABLE work_queue (
                        item_id TEXT PRIMARY KEY NOT NULL,
                        queue TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL,
                        available_at_ms INTEGER NOT NULL, attempts INTEGER NOT NULL,
                        claimed_by TEXT, heartbeat_at_ms INTEGER,
                        created_at_ms INTEGER NOT NULL, finished_at_ms INTEGER
                    );
                    CREATE INDEX work_queue_ready ON work_queue(queue, status, available_at_ms);
                    """)
        }
        m.registerMigration("003_controls") { db in
            try db.execute(
                sql: """
                    CREATE TABLE kill_switches (
                        scope TEXT NOT NULL, name TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL,
                        created_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (scope, name)
                    );
                    CREATE TABLE audit_log (
                        audit_id TEXT PRIMARY KEY NOT NULL,
                        at_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
                        reason TEXT, old_value TEXT, new_value TEXT
                    );
                    """)
        }
        m.registerMigration("004_cache") { db in
            try db.execute(
                sql: """
                    CREATE TABLE cache_entries (
                        key TEXT PRIMARY KEY NOT NULL,
                        scope TEXT NOT NULL, purpose TEXT NOT NULL, prompt_version TEXT,
                        model TEXT NOT NULL, provider TEXT, answered_model TEXT,
                        body BLOB NOT NULL,
                        input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_usd REAL,
                        created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL,
                        embedding BLOB
                    );
                    CREATE INDEX cache_entries_scope_created ON cache_entries(scope, created_at_ms);
                    CREATE INDEX cache_entries_expires ON cache_entries(expires_at_ms);
                    CREATE INDEX cache_entries_purpose ON cache_entries(purpose);
                    ALTER TABLE calls ADD COLUMN cache_similarity REAL;
                    """)
        }
        m.registerMigration("005_reviews") { db in
            try db.execute(
                sql: """
                    CREATE TABLE reviews (
                        id TEXT PRIMARY KEY NOT NULL,
                        call_id TEXT NOT NULL, task_id TEXT, purpose TEXT NOT NULL, reason TEXT NOT NULL,
                        status TEXT NOT NULL, output TEXT NOT NULL, edited_output TEXT,
                        created_at_ms INTEGER NOT NULL, decided_at_ms INTEGER, decided_by TEXT, note TEXT
                    );
                    CREATE INDEX reviews_status ON reviews(status, id);
                    CREATE INDEX reviews_purpose ON reviews(purpose, id);
                    ALTER TABLE calls ADD COLUMN repairs INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE calls ADD COLUMN guard_flags TEXT;
                    """)
        }
        m.registerMigration("006_ledger") { db in
            try db.execute(
                sql: """
                    CREATE TABLE ledger (
                        call_id TEXT PRIMARY KEY NOT NULL,
                        at_ms INTEGER NOT NULL, kind TEXT NOT NULL, purpose TEXT NOT NULL,
                        key_name TEXT, user_id TEXT, run_id TEXT, model TEXT NOT NULL, provider TEXT, prompt_version TEXT,
                        cost_usd REAL NOT NULL, saved_usd REAL NOT NULL,
                        input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL
                    );
                    CREATE INDEX ledger_at ON ledger(at_ms);
                    CREATE INDEX ledger_purpose_at ON ledger(purpose, at_ms);
                    """)
            // An upgraded database keeps its totals: entries for the calls already logged.
            try db.execute(sql: LedgerColumns.backfillSQL(user: "user"))
        }
        m.registerMigration("007_tasks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tasks (
                        id TEXT PRIMARY KEY NOT NULL,
                        purpose TEXT NOT NULL, idempotency_key TEXT, request_hash TEXT NOT NULL, request TEXT NOT NULL,
                        key_name TEXT, webhook_url TEXT, status TEXT NOT NULL,
                        attempt_count INTEGER NOT NULL, max_attempts INTEGER NOT NULL,
                        created_at_ms INTEGER NOT NULL, started_at_ms INTEGER, finished_at_ms INTEGER, heartbeat_at_ms INTEGER,
                        worker TEXT, error_message TEXT, result TEXT, call_ids TEXT NOT NULL DEFAULT '[]'
                    );
                    CREATE UNIQUE INDEX tasks_idempotency ON tasks(COALESCE(key_name, ''), idempotency_key)
                        WHERE idempotency_key IS NOT NULL;
                    CREATE INDEX tasks_status ON tasks(status, id);
                    CREATE INDEX tasks_purpose ON tasks(purpose, id);
                    CREATE TABLE task_webhooks (
                        task_id TEXT NOT NULL, attempt INTEGER NOT NULL, at_ms INTEGER NOT NULL, status INTEGER, error TEXT,
                        PRIMARY KEY (task_id, attempt)
                    );
                    """)
        }
        m.registerMigration("008_batches") { db in
            try db.execute(
                sql: """
                    CREATE TABLE task_batches (
                        id TEXT PRIMARY KEY NOT NULL,
                        purpose TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, upstream_id TEXT,
                        status TEXT NOT NULL, task_ids TEXT NOT NULL, items TEXT NOT NULL,
                        created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL, error TEXT
                    );
                    CREATE INDEX task_batches_status ON task_batches(status, id);
                    ALTER TABLE calls ADD COLUMN batch_id TEXT;
                    """)
        }
        m.registerMigration("009_idempotency") { db in
            try db.execute(
                sql: """
                    CREATE TABLE idempotent_responses (
                        scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
                        completed_at_ms INTEGER, status INTEGER, headers TEXT, body TEXT,
                        PRIMARY KEY (scope, key)
                    );
                    CREATE INDEX idempotent_responses_created ON idempotent_responses(created_at_ms);
                    """)
        }
        m.registerMigration("010_flags") { db in
            try db.execute(
                sql: """
                    CREATE TABLE flags (
                        key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, actor TEXT NOT NULL, updated_at_ms INTEGER NOT NULL
                    );
                    """)
        }
        m.registerMigration("011_experiments") { db in
            try db.execute(
                sql: """
                    CREATE TABLE feedback (
                        id TEXT PRIMARY KEY NOT NULL,
                        call_id TEXT, task_id TEXT, purpose TEXT, score REAL NOT NULL,
                        label TEXT, comment TEXT, action TEXT, key_name TEXT, created_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX feedback_call ON feedback(call_id);
                    CREATE INDEX feedback_purpose_created ON feedback(purpose, created_at_ms);
                    ALTER TABLE calls ADD COLUMN shadow_of TEXT;
                    CREATE INDEX calls_shadow_of ON calls(shadow_of) WHERE shadow_of IS NOT NULL;
                    """)
        }
        m.registerMigration("012_evals") { db in
            try db.execute(
                sql: """
                    CREATE TABLE eval_slots (
                        suite TEXT NOT NULL, slot INTEGER NOT NULL, node TEXT NOT NULL, at_ms INTEGER NOT NULL,
                        PRIMARY KEY (suite, slot)
                    );
                    CREATE TABLE eval_scores (
                        id TEXT PRIMARY KEY NOT NULL, suite TEXT NOT NULL, purpose TEXT NOT NULL, prompt_version TEXT,
                        model TEXT NOT NULL, answered_model TEXT, cases INTEGER NOT NULL, pass_rate REAL NOT NULL,
                        judge_mean REAL, cost_usd REAL NOT NULL, at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX eval_scores_purpose ON eval_scores(purpose, at_ms);
                    """)
        }
        m.registerMigration("013_rollups") { db in
            try db.execute(sql: RollupColumns.createSQL(integer: "INTEGER", real: "REAL", tail: " WITHOUT ROWID"))
            // An upgraded database starts with the rollups of the calls already logged.
            try SQLiteStore.backfillRollups(db)
        }
        // The generic work queue was never used (tasks have their own table).
        m.registerMigration("014_drop_work_queue") { db in
            try db.execute(sql: "DROP TABLE IF EXISTS work_queue")
        }
        m.registerMigration("015_responses") { db in
            for statement in ResponseColumns.createSQL(integer: "INTEGER", primaryKey: "PRIMARY KEY NOT NULL") {
                try db.execute(sql: statement)
            }
        }
        m.registerMigration("016_call_surface") { db in
            try db.execute(sql: "ALTER TABLE calls ADD COLUMN surface TEXT")
        }
        m.registerMigration("017_runtime_keys") { db in
            for statement in RuntimeKeyColumns.createSQL(integer: "INTEGER", real: "REAL") { try db.execute(sql: statement) }
        }
        m.registerMigration("018_quota_reserved") { db in
            try db.execute(sql: "ALTER TABLE quota_leases ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0")
        }
        m.registerMigration("019_end_users") { db in
            for statement in EndUserColumns.createSQL(integer: "INTEGER", real: "REAL") { try db.execute(sql: statement) }
        }
        m.registerMigration("021_call_tool_calls_and_drift") { db in
            for statement in CallColumns.migration021(integer: "INTEGER", real: "REAL", ifNotExists: "") { try db.execute(sql: statement) }
        }
        m.registerMigration("022_review_periods") { db in
            for statement in PeriodReviewSQL.createSQL(integer: "INTEGER") { try db.execute(sql: statement) }
        }
        m.registerMigration("023_call_guard_verdicts") { db in
            try db.execute(sql: CallColumns.migration023)
        }
        return m
    }
}
