/// Sluice's version: the one source for `sluice --version`, `GET /healthz`, the
/// `sluice ready` log line and the `sluice_build_info` metric. `scripts/release.sh`
/// checks that the binary it built reports this value.
public enum SluiceVersion {
    /// The release version (semantic versioning).
    public static let current = "0.9.0"
}
