terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.28 added invoked_via_function_url, which a public function URL
      # needs since AWS's October 2025 authorization change.
      version = ">= 6.28.0, < 7.0.0"
    }
  }
}
