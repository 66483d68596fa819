module kmcp.local/pause

go 1.22
