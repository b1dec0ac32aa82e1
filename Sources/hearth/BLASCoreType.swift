import CHearthDeps
import Foundation

/// OpenBLAS picks its kernels by CPU model when it loads. Debian 12's OpenBLAS 0.3.21 does not know
/// some newer or virtualised CPUs (this project's Xeon VMs report "Intel(R) Xeon(R) Processor") and
/// falls back to its generic SSE3 "Prescott" kernels: sgemm ran at 9–12 GFLOP/s instead of 41–58
/// with the SkylakeX kernels (1024×169×4608 and 256×676×3456, measured on 2 cores). The core type
/// can only be chosen before the library initialises (environment variable OPENBLAS_CORETYPE), so
/// when the fallback was taken on a CPU with AVX2 + FMA (AVX-512: SkylakeX, else Haswell), the
/// process runs itself again with the variable set. A user's OPENBLAS_CORETYPE is never overridden;
/// HEARTH_NO_BLAS_REEXEC=1 turns this off.
enum BLASCoreType {
    static func reexecIfGenericKernels() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["HEARTH_NO_BLAS_REEXEC"] == nil,
              let name = openblas_get_corename().map({ String(cString: $0) }), name.lowercased() == "prescott",
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return }
        let flags = Set(line.split(separator: " ").map(String.init))
        guard flags.contains("avx2"), flags.contains("fma") else { return }
        let core = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) ? "SkylakeX" : "Haswell"
        setenv("OPENBLAS_CORETYPE", core, 1)
        var arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &arguments)   // returns only on failure: carry on with the generic kernels
    }
}
