/// Version and build information, shown by `lookout version` and `lookout_build_info`.
public enum LookoutVersion {
    public static let version = "0.1.0"
    public static let userAgent = "lookout/\(version)"
    #if DEBUG
    public static let buildMode = "debug"
    #else
    public static let buildMode = "release"
    #endif
}

extension LookoutVersion {
    #if arch(x86_64)
    public static let architecture = "amd64"
    #elseif arch(arm64)
    public static let architecture = "arm64"
    #else
    public static let architecture = "unknown"
    #endif
}
