// ProcFS
