package applets

import "runtime/debug"

// Version is set at link time: -ldflags "-X grenache/applets.Version=v1.2.3".
// When it is empty the module version from the build info is used.
var Version string

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func versionLine() string { return "grenache " + version() }

// userAgent is sent with every request to a grape.
func userAgent() string { return "grenache/" + version() }
