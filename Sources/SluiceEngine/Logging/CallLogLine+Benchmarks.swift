import SluiceCore

/// The call log line as bytes, for the micro-benchmarks in `bench/micro`
/// (`@_spi(Benchmarks) import SluiceEngine`); not part of the public API.
@_spi(Benchmarks) public enum CallLogLineBenchmark {
    /// The JSON fields of `record`'s log line, serialized as the JSON log handler writes them.
    public static func line(_ record: CallRecord, errorCode: String? = nil) -> [UInt8] {
        JSON.object(CallLogLine.fields(record, errorCode: errorCode)).serialized()
    }
}
