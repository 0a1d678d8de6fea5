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

variable "location" {
  description = "Azure region, e.g. westeurope (one that offers Flex Consumption)."
  type        = string
}

variable "max_instances" {
  description = "Upper bound of instances per function app (Flex Consumption: 40 to 1000)."
  type        = number
  default     = 40
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
  description = "Path of the zip built by `modelfn build --cloud azure` (custom handler for linux/amd64, host.json, one folder per function, bundle/)."
  type        = string
}

variable "public" {
  description = "The prediction function accepts anonymous calls. Off by default: callers send a function key. The key check itself is the function's authLevel in the built function.json, so the artifact must be built to match."
  type        = bool
  default     = false
}

variable "memory_mb" {
  description = "Memory of each function in MB."
  type        = number
  default     = 2048
  validation {
    # Flex Consumption instance sizes.
    condition     = contains([512, 2048, 4096], var.memory_mb)
    error_message = "memory_mb must be 512, 2048 or 4096 on Flex Consumption."
  }
}

variable "timeout_seconds" {
  description = "Timeout of the predict function (HTTP calls also end at the front end's 230 s)."
  type        = number
  default     = 30
  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 230
    error_message = "timeout_seconds must be between 1 and 230."
  }
}

variable "batch_timeout_seconds" {
  description = "Timeout of the batch and monitor functions."
  type        = number
  default     = 540
  validation {
    condition     = var.batch_timeout_seconds >= 1 && var.batch_timeout_seconds <= 3600
    error_message = "batch_timeout_seconds must be between 1 and 3600."
  }
}

variable "monitor_interval_minutes" {
  description = "How often the monitor runs. On Azure the timer schedule itself is in the built function.json (from the bundle); this sizes the alert windows."
  type        = number
  default     = 60
  validation {
    # The timer trigger takes NCRONTAB: minutes dividing an hour, hours dividing a day, or daily.
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
  description = "Alarm when the predict function fails this many requests in 5 minutes."
  type        = number
  default     = 1
}

variable "predict_p99_latency_ms" {
  description = "Alarm when the predict function's p99 request duration exceeds this many milliseconds."
  type        = number
  default     = 1000
}

variable "alarm_email" {
  description = "Optional e-mail receiver of the action group."
  type        = string
  default     = ""
}

variable "log_retention_days" {
  description = "Retention of the Log Analytics workspace (function logs, requests, metrics table)."
  type        = number
  default     = 30
  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be between 30 and 730."
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
