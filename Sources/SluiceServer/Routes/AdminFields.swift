import SluiceCore

/// The fields of an admin request body (`POST /admin/keys`, `PUT /admin/end-users/{user}`…),
/// read with `400`s that name the field at fault; `null` counts as absent.
struct AdminFields {
    let body: [String: JSON]

    /// Refuses a field outside `known`, naming what `what` takes.
    init(_ body: [String: JSON], known: Set<String>, what: String) throws {
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw SluiceError.invalidRequest("Unknown field '\(unknown)'. \(what) takes: \(known.sorted().joined(separator: ", ")).", param: unknown)
        }
        self.body = body
    }

    func present(_ f: String) -> JSON? { body[f].flatMap { $0.isNull ? nil : $0 } }

    func text(_ f: String) throws -> String? {
        guard let v = present(f) else { return nil }
        guard let s = v.stringValue else { throw SluiceError.invalidRequest("'\(f)' must be a string; got \(v.typeName).", param: f) }
        return s
    }

    func list(_ f: String) throws -> [String]? {
        guard let v = present(f) else { return nil }
        guard let items = v.arrayValue?.compactMap(\.stringValue), items.count == v.arrayValue?.count else {
            throw SluiceError.invalidRequest("'\(f)' must be a list of strings such as [\"triage\"].", param: f)
        }
        return items
    }

    func money(_ f: String) throws -> Double? {
        guard let v = present(f) else { return nil }
        guard let d = v.doubleValue, d.isFinite, d >= 0 else {
            throw SluiceError.invalidRequest("'\(f)' must be a number of US dollars, 0 or more.", param: f)
        }
        return d
    }

    func count(_ f: String) throws -> Int? {
        guard let v = present(f) else { return nil }
        guard let n = v.intValue, n > 0 else { throw SluiceError.invalidRequest("'\(f)' must be a whole number above 0.", param: f) }
        return n
    }

    func bool(_ f: String) throws -> Bool? {
        guard let v = present(f) else { return nil }
        guard let b = v.boolValue else { throw SluiceError.invalidRequest("'\(f)' must be true or false.", param: f) }
        return b
    }
}
