package reliability

// Credentials of the local S3 server (versitygw).
const (
	accessKey = "modelfntestaccess"
	secretKey = "modelfntestsecret0123456789"
	region    = "us-east-1"
)

func runHelper(role string) int { return 2 }
