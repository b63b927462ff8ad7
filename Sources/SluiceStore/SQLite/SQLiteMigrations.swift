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
        return m
    }
}
