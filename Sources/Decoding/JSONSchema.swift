// The JSON Schema subset that constrained decoding can enforce token by token (the grammar
// automaton in JSONGrammar.swift). Behavioural reference: llama.cpp's json-schema-to-grammar —
// properties are generated in a fixed order (required ones first, then optional ones, each in
// schema order), `additionalProperties` is false unless the schema says otherwise, integers have at
// most 16 integral digits and fractions at most 16 digits. What the grammar cannot express is
// refused with the keyword's position, never ignored.

import Foundation

/// A schema keyword the grammar cannot express, or a malformed schema, at a position.
public struct SchemaError: Error, CustomStringConvertible, Sendable, Equatable {
    public var line: Int, column: Int
    /// Where in the schema, e.g. `properties.topics.items`.
    public var path: String
    public var message: String
    public var description: String { (path.isEmpty ? "" : "\(path): ") + message }
}

/// A compiled schema: a graph of nodes (cyclic for "any JSON value"), root first.
public struct JSONSchema: Sendable, Equatable {
    public struct Property: Sendable, Equatable {
        public var name: String
        /// The key as generated: its JSON string literal without the quotes.
        public var keyBytes: [UInt8]
        public var node: Int
        public var required: Bool
    }

    public enum Node: Sendable, Equatable {
        /// Properties in generation order (required first, then optional, each in schema order).
        case object([Property])
        /// Any object: free keys, values of node `value`.
        case freeObject(value: Int)
        case array(items: Int, minItems: Int, maxItems: Int?)
        case string(minLength: Int, maxLength: Int?)
        case number(integer: Bool)
        /// One of these exact texts (`enum`, `const`, booleans, null), each compact JSON.
        case literals([[UInt8]])
        /// One of these nodes; their first bytes are disjoint, so the first byte picks one.
        case choice([Int])
    }

    public private(set) var nodes: [Node] = []
    public var root: Int { 0 }
    /// A string node without limits: the keys of free objects.
    public private(set) var freeKeyNode = 0
    /// The schema as given (compact JSON), for provenance.
    public let source: String

    /// Keywords that describe and do not constrain.
    static let annotations: Set<String> = ["title", "description", "$schema", "$id", "$comment", "default", "examples",
                                           "$defs", "definitions"]
    static let supported: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "minItems",
                                         "maxItems", "minLength", "maxLength", "enum", "const", "anyOf", "oneOf"]
    /// What README and errors list.
    public static let supportedKeywords = "type (object, array, string, number, integer, boolean, null, or a list of them), "
        + "properties, required, additionalProperties (false), items, minItems, maxItems, minLength, maxLength, enum, const, "
        + "anyOf/oneOf (alternatives of different JSON types)"

    public init(_ document: JSONNode) throws {
        source = document.compactText
        nodes.append(.literals([]))   // root placeholder
        let any = anyValue()
        let root = try compile(document, path: [], any: any)
        nodes[0] = nodes[root]
    }

    public init(json text: String) throws { try self.init(try JSONNode.parse(text)) }

    // MARK: Compiling

    private mutating func add(_ node: Node) -> Int { nodes.append(node); return nodes.count - 1 }

    /// "Any JSON value": a choice over a free object, a free array, strings, numbers and literals
    /// (nodes refer to it, so nested values are any value again).
    private mutating func anyValue() -> Int {
        let any = add(.choice([]))
        let object = add(.freeObject(value: any))
        let array = add(.array(items: any, minItems: 0, maxItems: nil))
        let string = add(.string(minLength: 0, maxLength: nil))
        freeKeyNode = string
        let number = add(.number(integer: false))
        let literals = add(.literals([Array("true".utf8), Array("false".utf8), Array("null".utf8)]))
        nodes[any] = .choice([object, array, string, number, literals])
        return any
    }

    private func fail(_ node: JSONNode, _ path: [String], _ message: String, line: Int? = nil, column: Int? = nil) -> SchemaError {
        SchemaError(line: line ?? node.line, column: column ?? node.column, path: path.joined(separator: "."), message: message)
    }

    private mutating func compile(_ node: JSONNode, path: [String], any: Int) throws -> Int {
        switch node.value {
        case .bool(true): return any
        case .bool(false): throw fail(node, path, "the schema `false` matches nothing")
        case .object: break
        default: throw fail(node, path, "a schema must be an object (or true), found \(node.compactText)")
        }
        guard case .object(let members) = node.value else { fatalError() }
        var keyword: [String: JSONNode] = [:]
        for m in members {
            if Self.annotations.contains(m.key) { continue }
            guard Self.supported.contains(m.key) else {
                let why: String
                switch m.key {
                case "$ref": why = "$ref is not supported (write the referenced schema inline)"
                case "pattern", "format", "patternProperties": why = "'\(m.key)' is not supported: the grammar does not compile regular expressions or formats"
                case "allOf", "not", "if", "then", "else": why = "'\(m.key)' is not supported"
                case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf": why = "numeric ranges ('\(m.key)') are not supported"
                default: why = "unknown or unsupported keyword '\(m.key)'"
                }
                throw fail(node, path + [m.key], why + " (supported: \(Self.supportedKeywords))", line: m.keyLine, column: m.keyColumn)
            }
            keyword[m.key] = m.value
        }
        func member(_ key: String) -> JSONNode.Member { members.first { $0.key == key }! }
        func nonNegative(_ key: String) throws -> Int? {
            guard let v = keyword[key] else { return nil }
            guard case .number(let text) = v.value, let n = Int(text), n >= 0 else {
                throw fail(v, path + [key], "must be a non-negative integer")
            }
            return n
        }

        if let c = keyword["const"] { return add(.literals([Array(c.compactText.utf8)])) }
        if let e = keyword["enum"] {
            guard case .array(let values) = e.value, !values.isEmpty else { throw fail(e, path + ["enum"], "must be a non-empty list") }
            var texts: [[UInt8]] = []
            for v in values where !texts.contains(Array(v.compactText.utf8)) { texts.append(Array(v.compactText.utf8)) }
            return add(.literals(texts))
        }
        for key in ["anyOf", "oneOf"] {
            guard let list = keyword[key] else { continue }
            guard case .array(let alternatives) = list.value, !alternatives.isEmpty else {
                throw fail(list, path + [key], "must be a non-empty list of schemas")
            }
            let alts = try alternatives.enumerated().map { i, a in try compile(a, path: path + ["\(key)[\(i)]"], any: any) }
            return try choice(alts, at: list, path: path + [key])
        }

        var types: [String] = []
        if let t = keyword["type"] {
            switch t.value {
            case .string(let s): types = [s]
            case .array(let list):
                types = try list.map { item in
                    guard case .string(let s) = item.value else { throw fail(item, path + ["type"], "a type must be a string") }
                    return s
                }
                if types.isEmpty { throw fail(t, path + ["type"], "must name at least one type") }
            default: throw fail(t, path + ["type"], "must be a type name or a list of them")
            }
        } else if keyword["properties"] != nil {
            types = ["object"]
        } else if keyword["items"] != nil {
            types = ["array"]
        } else {
            return any
        }
        var alternatives: [Int] = []
        for type in types {
            switch type {
            case "object": alternatives.append(try object(keyword, node, path: path, any: any, members: members))
            case "array":
                var items = any
                if let i = keyword["items"] { items = try compile(i, path: path + ["items"], any: any) }
                let minItems = try nonNegative("minItems") ?? 0, maxItems = try nonNegative("maxItems")
                if let maxItems, maxItems < minItems { throw fail(keyword["maxItems"]!, path + ["maxItems"], "is below minItems") }
                alternatives.append(add(.array(items: items, minItems: minItems, maxItems: maxItems)))
            case "string":
                let minLength = try nonNegative("minLength") ?? 0, maxLength = try nonNegative("maxLength")
                if let maxLength, maxLength < minLength { throw fail(keyword["maxLength"]!, path + ["maxLength"], "is below minLength") }
                alternatives.append(add(.string(minLength: minLength, maxLength: maxLength)))
            case "number", "integer": alternatives.append(add(.number(integer: type == "integer")))
            case "boolean": alternatives.append(add(.literals([Array("true".utf8), Array("false".utf8)])))
            case "null": alternatives.append(add(.literals([Array("null".utf8)])))
            default:
                throw fail(keyword["type"]!, path + ["type"], "unknown type '\(type)' (object, array, string, number, integer, boolean, null)")
            }
        }
        return alternatives.count == 1 ? alternatives[0] : try choice(alternatives, at: keyword["type"]!, path: path + ["type"])
    }

    private mutating func object(_ keyword: [String: JSONNode], _ node: JSONNode, path: [String], any: Int,
                                 members: [JSONNode.Member]) throws -> Int {
        var additional = false
        if let a = keyword["additionalProperties"] {
            switch a.value {
            case .bool(let b): additional = b
            default: throw fail(a, path + ["additionalProperties"], "only true or false is supported")
            }
        }
        var required: [String] = []
        if let r = keyword["required"] {
            guard case .array(let names) = r.value else { throw fail(r, path + ["required"], "must be a list of property names") }
            for n in names {
                guard case .string(let s) = n.value else { throw fail(n, path + ["required"], "must be a list of property names") }
                required.append(s)
            }
        }
        guard let p = keyword["properties"] else {
            if let missing = required.first { throw fail(keyword["required"]!, path + ["required"], "'\(missing)' is not among the properties") }
            // No properties: llama.cpp's generic object unless additionalProperties is false.
            if keyword["additionalProperties"] != nil && !additional { return add(.object([])) }
            return add(.freeObject(value: any))
        }
        guard case .object(let declared) = p.value else { throw fail(p, path + ["properties"], "must be a mapping of names to schemas") }
        if additional {
            throw fail(keyword["additionalProperties"]!, path + ["additionalProperties"],
                       "additionalProperties: true together with properties is not supported (leave it out: it is false)")
        }
        for name in required where !declared.contains(where: { $0.key == name }) {
            throw fail(keyword["required"]!, path + ["required"], "'\(name)' is not among the properties")
        }
        var properties: [Property] = []
        for m in declared {
            if properties.contains(where: { $0.name == m.key }) {
                throw fail(p, path + ["properties", m.key], "property '\(m.key)' is declared twice", line: m.keyLine, column: m.keyColumn)
            }
            let child = try compile(m.value, path: path + ["properties", m.key], any: any)
            let literal = JSONNode.quoted(m.key)
            properties.append(Property(name: m.key, keyBytes: Array(literal.utf8.dropFirst().dropLast()), node: child,
                                       required: required.contains(m.key)))
        }
        return add(.object(properties.filter(\.required) + properties.filter { !$0.required }))
    }

    private mutating func choice(_ alternatives: [Int], at node: JSONNode, path: [String]) throws -> Int {
        var seen = Set<UInt8>()
        for a in alternatives {
            let first = firstBytes(a)
            if !seen.isDisjoint(with: first) {
                throw fail(node, path, "alternatives must start differently (e.g. a string and a number, or null and an object): "
                           + "two of them can begin with the same character, which the grammar does not support")
            }
            seen.formUnion(first)
        }
        return add(.choice(alternatives))
    }

    /// Bytes a value of `node` can begin with.
    func firstBytes(_ node: Int, visiting: Set<Int> = []) -> Set<UInt8> {
        switch nodes[node] {
        case .object, .freeObject: return [UInt8(ascii: "{")]
        case .array: return [UInt8(ascii: "[")]
        case .string: return [UInt8(ascii: "\"")]
        case .number: return Set(Array("-0123456789".utf8))
        case .literals(let texts): return Set(texts.compactMap(\.first))
        case .choice(let alts):
            guard !visiting.contains(node) else { return [] }
            return alts.reduce(into: Set<UInt8>()) { $0.formUnion(firstBytes($1, visiting: visiting.union([node]))) }
        }
    }
}
