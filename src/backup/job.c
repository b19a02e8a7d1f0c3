/*
 * job.c - the rules every job of a cycle applies the same way (job.h): the AWS stack options of a configuration,
 * which first failure means the cycle could not start, and the "now" of a decision (with the clock-skew warning).
 *
 * What it does not do: run a job or call one (cycle.c does), or renew the lease (backup/lease.h).
 */
#include "backup/job.h"

#include "base/log.h"
#include "base/time.h"

static enum retry_mode s_retry_mode(enum cfg_retry_mode m) {
    switch (m) {
        case CFG_RETRY_ADAPTIVE:
            return RETRY_MODE_ADAPTIVE;
        case CFG_RETRY_LEGACY:
            return RETRY_MODE_LEGACY;
        default:
            return RETRY_MODE_STANDARD;
    }
}

void job_fleet_free(struct cycle_fleet *f) {
    for (struct cycle_fleet *t = f->next; t != NULL; t = t->next) {
        ec2_snaps_free(&t->src);
        ec2_snaps_free(&t->dst);
    }
    ec2_snaps_free(&f->src);
    ec2_snaps_free(&f->dst);
}

void job_stack_options(const struct cfg *cfg, struct aws_stack_options *so) {
    *so = (struct aws_stack_options){
        .env = &cfg->env,
        .region = cfg->source_region,
        .ca_file = cfg->ca_bundle,
        .retry_mode = s_retry_mode(cfg->aws_retry_mode),
        .max_attempts = cfg->aws_max_attempts,
        .max_in_flight = cfg->max_concurrency,
    };
}

bool job_err_cannot_start(enum err e) {
    return e == ERR_CREDS || e == ERR_CONFIG || e == ERR_NET || e == ERR_TIMEOUT || e == ERR_TLS;
}

int64_t job_decision_now_s(struct cycle *cy) {
    if (cy->cfg->now_set || cy->aws == NULL || aws_client_skew_offset_ms(cy->aws) == 0) {
        return cy->now_s;
    }
    int64_t server_now_s = aws_client_now_s(cy->aws);
    if (!cy->skew_logged) {
        cy->skew_logged = true;
        LOG(
          LOG_WARN,
          "cycle.clock_skew",
          LF_I("skew_s", aws_client_skew_offset_ms(cy->aws) / 1000),
          LF_I("local_now_s", time_wall_ms() / 1000),
          LF_I("server_now_s", server_now_s),
          LF_S("detail", "this host's clock differs from AWS's; retention, due-ness and the DR window use AWS's time"));
    }
    cy->now_s = server_now_s;
    return server_now_s;
}
