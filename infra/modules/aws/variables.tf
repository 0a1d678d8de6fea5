# The deployment's settings. modelfn's generated root module passes the
# bundle's values; every variable can be overridden there with -var.

variable "name" {
  description = "Prefix of every resource name: lower-case letters, digits and hyphens, at most 20 characters."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "model_name" {
  description = "The bundle's model name: the `model` dimension of every metric."
  type        = string
}

variable "model_version" {
  description = "The bundle's model version: the `version` dimension of every metric."
  type        = string
}

variable "features" {
  description = "The model's input features; each gets its own drift alarm."
  type        = list(string)
  default     = []
}

variable "artifact_path" {
  description = "Path of the zip built by `modelfn build --cloud aws` (bootstrap for provided.al2023 arm64, plus bundle/)."
  type        = string
}

variable "public" {
  description = "Serve the prediction endpoint without authentication. Off by default: callers sign requests with AWS SigV4 (IAM)."
  type        = bool
  default     = false
}

variable "memory_mb" {
  description = "Memory of each function in MB."
  type        = number
  default     = 512
  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of the predict function."
  type        = number
  default     = 30
  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 1 and 900."
  }
}

variable "batch_timeout_seconds" {
  description = "Timeout of the batch and monitor functions."
  type        = number
  default     = 540
  validation {
    condition     = var.batch_timeout_seconds >= 1 && var.batch_timeout_seconds <= 900
    error_message = "batch_timeout_seconds must be between 1 and 900."
  }
}

variable "monitor_interval_minutes" {
  description = "How often the monitor runs."
  type        = number
  default     = 60
  validation {
    condition     = var.monitor_interval_minutes >= 1 && floor(var.monitor_interval_minutes) == var.monitor_interval_minutes
    error_message = "monitor_interval_minutes must be a whole number of minutes, at least 1."
  }
}

variable "drift_share_threshold" {
  description = "Alarm when the share of drifted features reaches this."
  type        = number
  default     = 0.5
}

variable "performance_drop_threshold" {
  description = "Alarm when the primary metric drops by this share of its reference value."
  type        = number
  default     = 0.1
}

variable "performance_metrics" {
  description = "Names the primary performance metric may have (the `metric` dimension of performance_drop): roc_auc for a scored binary classifier, accuracy for other classifiers, r2 for regression. Give the bundle's one to have a single alarm."
  type        = list(string)
  default     = ["roc_auc", "accuracy", "r2"]
}

variable "predict_error_threshold" {
  description = "Alarm when the predict function fails this many times in 5 minutes."
  type        = number
  default     = 1
}

variable "predict_p99_latency_ms" {
  description = "Alarm when the predict function's p99 duration exceeds this many milliseconds."
  type        = number
  default     = 1000
}

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the alarm topic (AWS sends a confirmation mail)."
  type        = string
  default     = ""
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups."
  type        = number
  default     = 30
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "prediction_retention_days" {
  description = "Logged predictions (predictions/) expire after this many days."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Tags on every resource that takes them."
  type        = map(string)
  default     = {}
}
