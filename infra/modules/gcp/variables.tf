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

variable "project" {
  description = "Google Cloud project ID."
  type        = string
}

variable "region" {
  description = "Region of the functions, buckets, trigger and schedule, e.g. europe-west1."
  type        = string
}

variable "go_runtime" {
  description = "Cloud Functions Go runtime; the source's go.mod must not need a newer Go."
  type        = string
  default     = "go126"
}

variable "max_instances" {
  description = "Upper bound of instances per function."
  type        = number
  default     = 10
}

variable "predict_ingress" {
  description = "Network ingress of the prediction function: ALLOW_ALL (default; IAM still required unless public), ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB (behind a load balancer). Batch and monitor are always internal only."
  type        = string
  default     = "ALLOW_ALL"
  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.predict_ingress)
    error_message = "predict_ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "predict_invokers" {
  description = "Members allowed to call the prediction function, e.g. [\"user:ana@example.com\", \"serviceAccount:app@p.iam.gserviceaccount.com\"]."
  type        = list(string)
  default     = []
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
  description = "Path of the source zip built by `modelfn build --cloud gcp` (a Go module registering Predict, Batch and Monitor, with the bundle and vendored dependencies)."
  type        = string
}

variable "public" {
  description = "Let everyone (allUsers) invoke the prediction function. Off by default: callers need roles/run.invoker and send an identity token."
  type        = bool
  default     = false
}

variable "memory_mb" {
  description = "Memory of each function in MB."
  type        = number
  default     = 512
  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 32768
    error_message = "memory_mb must be between 128 and 32768."
  }
}

variable "timeout_seconds" {
  description = "Timeout of the predict function."
  type        = number
  default     = 30
  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600
    error_message = "timeout_seconds must be between 1 and 3600."
  }
}

variable "batch_timeout_seconds" {
  description = "Timeout of the batch and monitor functions (event-driven functions stop at 540 s)."
  type        = number
  default     = 540
  validation {
    condition     = var.batch_timeout_seconds >= 1 && var.batch_timeout_seconds <= 540
    error_message = "batch_timeout_seconds must be between 1 and 540."
  }
}

variable "monitor_interval_minutes" {
  description = "How often the monitor runs."
  type        = number
  default     = 60
  validation {
    # Cloud Scheduler takes cron: minutes dividing an hour, hours dividing a day, or daily.
    condition = (
      (var.monitor_interval_minutes >= 1 && var.monitor_interval_minutes < 60 && 60 % var.monitor_interval_minutes == 0) ||
      (var.monitor_interval_minutes >= 60 && var.monitor_interval_minutes < 1440 && var.monitor_interval_minutes % 60 == 0 && 24 % (var.monitor_interval_minutes / 60) == 0) ||
      var.monitor_interval_minutes == 1440
    )
    error_message = "monitor_interval_minutes must divide an hour (1-30), be whole hours dividing a day (60-720), or 1440."
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

variable "predict_error_threshold" {
  description = "Alarm when the predict function answers this many 5xx in 5 minutes."
  type        = number
  default     = 1
}

variable "predict_p99_latency_ms" {
  description = "Alarm when the predict function's p99 request latency exceeds this many milliseconds."
  type        = number
  default     = 1000
}

variable "alarm_email" {
  description = "Optional e-mail address for an alerting notification channel."
  type        = string
  default     = ""
}

variable "log_retention_days" {
  description = "Unused on Google Cloud: function logs go to Cloud Logging's _Default bucket, whose retention is set per project."
  type        = number
  default     = 30
}

variable "prediction_retention_days" {
  description = "Logged predictions (predictions/) expire after this many days."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Labels on every resource that takes them (keys and values: lower-case letters, digits, _ and -)."
  type        = map(string)
  default     = {}
}
