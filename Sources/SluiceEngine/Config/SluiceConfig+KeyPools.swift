extension SluiceConfig {
    /// One key of a provider's pool (`api_keys: [{name, key, weight}]`).
    public struct PoolKey: Sendable, Equatable {
        /// Unique within the provider; what `/admin/breakers`, `/metrics` and call records show.
        public var name: String
        /// The secret sent upstream; never logged, stored or shown.
        public var key: String
        /// Its share of the calls among the keys with room; default 1.
        public var weight: Double

        /// A pool key from its parts.
        public init(name: String, key: String, weight: Double = 1) {
            self.name = name
            self.key = key
            self.weight = weight
        }
    }
}
