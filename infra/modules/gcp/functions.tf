resource "google_cloudfunctions2_function" "this" {
  for_each    = local.functions
  project     = var.project
  location    = var.region
  name        = "${var.name}-${each.key}"
  description = "modelfn ${var.model_name} ${var.model_version}: ${each.key}"
  labels      = local.labels

  build_config {
    runtime           = var.go_runtime
    entry_point       = each.value.entry_point
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket_object.source.bucket
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory = "${var.memory_mb}Mi"
    timeout_seconds  = each.value.timeout
    # One monitor pass at a time: its checkpoint is one object.
    max_instance_count               = each.key == "monitor" ? 1 : var.max_instances
    max_instance_request_concurrency = each.key == "monitor" ? 1 : null
    min_instance_count               = 0
    ingress_settings                 = each.value.ingress
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function[each.key].email
    environment_variables            = merge(local.environment, { MODELFN_FUNCTION = each.key })
  }

  # Batch: every object finalized in the batch bucket. Eventarc cannot
  # filter Cloud Storage events by prefix, so the function itself skips
  # objects outside input/ (its own output/ and errors/ writes included).
  dynamic "event_trigger" {
    for_each = each.key == "batch" ? [1] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.storage.object.v1.finalized"
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.trigger.email
      event_filters {
        attribute = "bucket"
        value     = google_storage_bucket.this["batch"].name
      }
    }
  }

  depends_on = [
    google_project_service.this,
    google_storage_bucket_iam_member.build_reads_source,
    google_artifact_registry_repository_iam_member.build_pushes,
    google_project_iam_member.build_logs,
    google_project_iam_member.gcs_publishes,
    google_project_iam_member.trigger_receives,
  ]
}

# Monitor: Cloud Scheduler POSTs to the function with an OIDC token.
resource "google_cloud_scheduler_job" "monitor" {
  project          = var.project
  region           = var.region
  name             = "${var.name}-monitor"
  description      = "modelfn ${var.name}: run the drift monitor"
  schedule         = local.monitor_cron
  time_zone        = "Etc/UTC"
  attempt_deadline = "${var.batch_timeout_seconds}s"

  retry_config {
    retry_count = 1
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.this["monitor"].service_config[0].uri
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode({ source = "cloud-scheduler", job = "${var.name}-monitor" }))

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.this["monitor"].service_config[0].uri
    }
  }

  depends_on = [google_project_service.this, google_cloud_run_v2_service_iam_member.scheduler_invokes_monitor]
}
