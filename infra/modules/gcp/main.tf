# modelfn on Google Cloud: three Cloud Functions (2nd gen) from one source
# zip (Predict over HTTP, Batch on objects finalized in the batch bucket
# through Eventarc, Monitor over HTTP called by Cloud Scheduler with an
# OIDC token), their buckets, one service account each, metric
# descriptors and alert policies on them.

locals {
  # Entry points the generated source package registers.
  functions = {
    predict = { entry_point = "Predict", timeout = var.timeout_seconds, ingress = var.predict_ingress }
    batch   = { entry_point = "Batch", timeout = var.batch_timeout_seconds, ingress = "ALLOW_INTERNAL_ONLY" }
    monitor = { entry_point = "Monitor", timeout = var.batch_timeout_seconds, ingress = "ALLOW_INTERNAL_ONLY" }
  }

  # Bucket names are global: a hash of the project keeps them unique.
  suffix = substr(sha1(var.project), 0, 8)

  environment = {
    MODELFN_LOG_URL     = "gs://${google_storage_bucket.this["logs"].name}"
    MODELFN_BATCH_URL   = "gs://${google_storage_bucket.this["batch"].name}"
    MODELFN_METRICS_URL = "gcpmonitoring://${var.project}"
  }

  labels = merge(var.tags, { modelfn = var.name })

  # Minutes to cron (validated in variables.tf).
  m = var.monitor_interval_minutes
  monitor_cron = (
    local.m < 60 ? "*/${local.m} * * * *" :
    local.m < 1440 ? "0 */${floor(local.m / 60)} * * *" :
    "0 0 * * *"
  )
}

# The APIs the deployment uses. They stay enabled on destroy: other
# workloads in the project may rely on them.
resource "google_project_service" "this" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ])
  project            = var.project
  service            = each.value
  disable_on_destroy = false
}
