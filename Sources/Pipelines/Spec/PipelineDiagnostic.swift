import Foundation
import Yams

/// One problem in a pipeline file: `FILE:LINE:COLUMN: KEY: message` (line and column 1-based).
public struct PipelineDiagnostic: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// Where in the document, e.g. `stages[0].options.beam_size` (empty for the whole file).
    public var key: String
    public var message: String
    /// Warnings are printed but do not stop a run.
    public var isWarning = false

    public init(file: String, line: Int? = nil, column: Int? = nil, key: String = "", message: String, isWarning: Bool = false) {
        self.file = file; self.line = line; self.column = column; self.key = key; self.message = message
        self.isWarning = isWarning
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        return "\(location): \(isWarning ? "warning: " : "")\(key.isEmpty ? "" : "\(key): ")\(message)"
    }
}

/// All problems found in a pipeline file; thrown by `Pipeline.load` when any is an error.
public struct PipelineErrors: Error, CustomStringConvertible, Sendable {
    public var diagnostics: [PipelineDiagnostic]
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A coding path written as `stages[1].options.beam_size`.
func keyPath(_ path: [CodingKey]) -> String {
    var out = ""
    for key in path {
        if let index = key.intValue { out += "[\(index)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
    }
    return out
}

/// Finds the node a coding path points at, descending as far as the document goes. With
/// `keyNode`, a path ending in a mapping key points at the key itself (for unknown keys).
func locate(_ path: [CodingKey], in root: Node, keyNode: Bool = false) -> Mark? {
    var node = root
    var mark = root.mark
    for (depth, key) in path.enumerated() {
        switch node {
        case .mapping(let mapping):
            guard let pair = mapping.first(where: { $0.key.string == key.stringValue }) else { return mark }
            node = keyNode && depth == path.count - 1 ? pair.key : pair.value
        case .sequence(let sequence):
            let items = Array(sequence)
            guard let index = key.intValue, items.indices.contains(index) else { return mark }
            node = items[index]
        case .scalar:
            return mark
        }
        mark = node.mark ?? mark
    }
    return mark
}

extension PipelineDiagnostic {
    /// A decoding error as a located diagnostic.
    init(_ error: DecodingError, file: String, root: Node) {
        let (path, message, isKey): ([CodingKey], String, Bool)
        switch error {
        case .typeMismatch(_, let c): (path, message, isKey) = (c.codingPath, c.debugDescription, false)
        case .valueNotFound(_, let c): (path, message, isKey) = (c.codingPath, c.debugDescription, false)
        case .keyNotFound(let key, let c): (path, message, isKey) = (c.codingPath + [key], "missing required key '\(key.stringValue)'", false)
        case .dataCorrupted(let c):
            (path, message, isKey) = (c.codingPath, c.debugDescription, c.debugDescription.hasPrefix("unknown key")
                                      || c.debugDescription.hasPrefix("duplicate key"))
        @unknown default: (path, message, isKey) = ([], "\(error)", false)
        }
        let mark: Mark?
        if case .keyNotFound = error { mark = locate(Array(path.dropLast()), in: root) } else { mark = locate(path, in: root, keyNode: isKey) }
        self.init(file: file, line: mark?.line, column: mark?.column, key: keyPath(path), message: message)
    }
}
