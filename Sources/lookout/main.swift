import LookoutCore
print(LookoutVersion.version)
