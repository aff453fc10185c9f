// commands.h — one function per ratq subcommand: int cmd_<name>(int argc, char **argv).
// argv[0] is the subcommand name. Return value is the process exit code:
// 0 success, 1 a check failed (e.g. a test vector mismatched), 2 bad input or usage.
#ifndef RATQ_HOST_COMMANDS_H
#define RATQ_HOST_COMMANDS_H

int cmd_check_vector(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_hw(int argc, char **argv);
int cmd_data_info(int argc, char **argv);
int cmd_export_c(int argc, char **argv);
int cmd_export_tflite(int argc, char **argv);
int cmd_import_tflite(int argc, char **argv);
int cmd_qmodel_trace(int argc, char **argv);
int cmd_qmodel_info(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_train(int argc, char **argv);

#endif
