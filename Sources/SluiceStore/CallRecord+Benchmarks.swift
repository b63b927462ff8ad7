import SluiceCore

/// The call record as the row the call log writes, for the micro-benchmarks in
/// `bench/micro` (`@_spi(Benchmarks) import SluiceStore`); not part of the public API.
@_spi(Benchmarks) public enum CallRowBenchmark {
    /// How many cells `record`'s row has, after encoding every one of them (bodies unsealed).
    public static func encode(_ record: CallRecord) -> Int {
        record.cells(sealedBy: nil).count
    }
}
