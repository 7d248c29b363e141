# The two jobs jobd replaces, written for services.jobd.jobs: a nightly
# nix-index (was a .service + .timer pair) and the watchintake daemon (was
# a .service with Restart=), with a handler told when either fails.
{
  nix-index = {
    description = "Run nix-index.";
    exec = "nix-index";
    on_calendar = "*-*-* 04:00:00";
    persistent = true;
    randomized_delay = "10min";
    wait_for.ac_power = true;
    io_class = "idle";
    on_failure = [ "notify-failure" ];
  };
  watchintake = {
    description = "Transcode what lands in ~/intake.";
    exec = [ "watchintake" "~/intake" ];
    restart = "on-failure";
    restart_sec = "1s";
    restart_max_sec = "1min";
    on_failure = [ "notify-failure" ];
  };
  notify-failure = {
    # The shell expands the variables when it runs (jobd would expand
    # ${VAR} when it loads the file, before they exist; `$$` is `$`).
    exec = [ "sh" "-c" "notify-send jobd \"$$JOBD_FAILED_JOB failed: $$JOBD_RESULT\"" ];
    type = "oneshot";
    enabled = false;
  };
}
