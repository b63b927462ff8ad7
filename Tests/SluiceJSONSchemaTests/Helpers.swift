import SluiceCore
import SluiceJSONSchema

/// Compiles schema text; a compile error fails the calling test.
func schema(_ text: String) throws -> JSONSchema {
    try JSONSchema(try JSON.parse(text))
}

/// The error messages for `instance` (JSON text) against `schemaText`.
func messages(_ schemaText: String, _ instance: String) throws -> [String] {
    try schema(schemaText).validate(try JSON.parse(instance)).map(\.message)
}

/// True when `instance` (JSON text) satisfies `schemaText`.
func valid(_ schemaText: String, _ instance: String) throws -> Bool {
    try schema(schemaText).isValid(try JSON.parse(instance))
}
