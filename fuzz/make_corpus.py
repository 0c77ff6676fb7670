"""Write the fuzzers' seed corpus: a handful of small, valid extracts per reader format.

    .venv/bin/python fuzz/make_corpus.py        # (re)writes fuzz/corpus/<format>/*

The files are realistic but small (the fuzzer mutates them; small seeds mutate faster). FIX
messages get a correct BodyLength 9 and CheckSum 10. Every seed is read once here and must give
no reject, so a seed is a *valid* file of its format under the configuration the harness picks for
it (``fuzz_readers.config_for``: the input's length modulo the number of configurations of its
format). Seeds are padded with trailing blank lines / spaces (which every reader skips) to land on
the configuration they are written for.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fuzz_readers  # noqa: E402

SOH = "\x01"


# --- FIX ---------------------------------------------------------------------------------------------


def fix(fields: list[tuple[int, object]], *, delimiter: str = SOH, begin: str = "FIX.4.4", checksum: bool = True) -> str:
    """One FIX message with a correct BodyLength and CheckSum (computed over the SOH form)."""
    body = "".join(f"{tag}={value}{SOH}" for tag, value in fields if value is not None)
    head = f"8={begin}{SOH}9={len(body.encode())}{SOH}"
    text = head + body
    if checksum:
        text += f"10={sum(text.encode()) % 256:03d}{SOH}"
    return text.replace(SOH, delimiter)


def header(seq: int, sending: str, msg_type: str = "8", sender: str = "NXBROKER", target: str = "EXECPIPE") -> list:
    return [(35, msg_type), (34, seq), (49, sender), (52, sending), (56, target)]


def report(seq: int, t: str, **tags: object) -> list[tuple[int, object]]:
    fields = header(seq, t)
    fields += [(int(k[1:]), v) for k, v in tags.items()]
    return fields


def fix_corpus() -> dict[str, str]:
    files: dict[str, str] = {}

    # 1. SOH-delimited day: an order, two partial fills, the last fill, a heartbeat and a logon.
    t = "20260105-14:30:0{}.{:03d}"
    lines = [
        fix(header(1, "20260105-14:29:59.000", "A") + [(98, 0), (108, 30)]),
        fix(report(2, t.format(1, 117), t1="ACC-1", t6=0, t11="momentum/0001", t14=0, t15="USD", t17="X1", t37="NX-1",
                   t38=500, t39=0, t40=2, t44="228.50", t54=1, t55="AAPL", t59=0, t60=t.format(1, 114), t150=0, t151=500)),
        fix(report(3, t.format(2, 873), t1="ACC-1", t6="228.45", t11="momentum/0001", t12="0.70", t13=3, t14=200,
                   t15="USD", t17="X2", t30="XNAS", t31="228.45", t32=200, t37="NX-1", t38=500, t39=1, t40=2,
                   t44="228.50", t54=1, t55="AAPL", t59=0, t60=t.format(2, 870), t150="F", t151=300, t851=2)),
        fix(header(4, "20260105-14:30:03.000", "0")),
        fix(report(5, t.format(4, 208), t1="ACC-1", t6="228.468", t11="momentum/0001", t12="0.90", t13=3, t14=500,
                   t15="USD", t17="X3", t30="ARCX", t31="228.48", t32=300, t37="NX-1", t38=500, t39=2, t40=2,
                   t44="228.50", t54=1, t55="AAPL", t59=0, t60=t.format(4, 205), t150="F", t151=0, t851=1)),
    ]
    files["soh_fills.log"] = "\n".join(lines) + "\n"

    # 2. '|'-delimited with log prefixes: a sell order amended (150=5, 41 != 11), then canceled, a reject.
    p = "2026-01-05 15:00:0{} INFO  [fix-session] "
    lines = [
        p.format(0) + fix(report(10, "20260105-15:00:00.100", t1="ACC-2", t11="pairs/0007", t14=0, t15="USD", t17="Y1",
                                 t37="NX-7", t38=300, t39=0, t40=2, t44="415.20", t54=2, t55="MSFT", t59=1,
                                 t60="20260105-15:00:00.098", t150=0, t151=300), delimiter="|"),
        p.format(1) + fix(report(11, "20260105-15:00:01.250", t1="ACC-2", t11="pairs/0007b", t41="pairs/0007", t14=0,
                                 t15="USD", t17="Y2", t37="NX-7", t38=250, t39=5, t40=2, t44="415.10", t54=2, t55="MSFT",
                                 t59=1, t60="20260105-15:00:01.248", t150=5, t151=250), delimiter="|"),
        p.format(2) + fix(report(12, "20260105-15:00:02.500", t1="ACC-2", t11="pairs/0007c", t41="pairs/0007b", t14=0,
                                 t15="USD", t17="Y3", t37="NX-7", t38=250, t39=4, t40=2, t44="415.10", t54=2, t55="MSFT",
                                 t58="user request", t60="20260105-15:00:02.497", t150=4, t151=0), delimiter="|"),
        p.format(3) + fix(report(13, "20260105-15:00:03.000", t1="ACC-2", t11="pairs/0008", t14=0, t17="Y4", t37="NONE",
                                 t38=100, t39=8, t40=1, t54=5, t55="TSLA", t58="no locate", t60="20260105-15:00:03.000",
                                 t103=99, t150=8, t151=0), delimiter="|"),
    ]
    files["pipe_prefixed_amend_cancel.log"] = "\n".join(lines) + "\n"

    # 3. FIX 4.2 dialect: 150=1/2 with ExecTransType 20=0, a bust (20=1) and a correction (20=2).
    lines = [
        fix(report(1, "20260105-16:00:00", t1="ACC-1", t6="101.5", t11="alpha/42", t14=100, t15="USD", t17="E1",
                   t20=0, t31="101.5", t32=100, t37="O-42", t38=300, t39=1, t40=2, t44="102", t54=1, t55="IBM",
                   t60="20260105-16:00:00", t150=1, t151=200), begin="FIX.4.2"),
        fix(report(2, "20260105-16:00:05", t1="ACC-1", t6="101.6667", t11="alpha/42", t14=300, t15="USD", t17="E2",
                   t20=0, t31="101.75", t32=200, t37="O-42", t38=300, t39=2, t40=2, t44="102", t54=1, t55="IBM",
                   t60="20260105-16:00:05", t150=2, t151=0), begin="FIX.4.2"),
        fix(report(3, "20260105-16:10:00", t1="ACC-1", t11="alpha/42", t14=200, t15="USD", t17="E3", t19="E1",
                   t20=1, t31="101.5", t32=100, t37="O-42", t38=300, t39=1, t54=1, t55="IBM",
                   t60="20260105-16:10:00", t150=1, t151=100), begin="FIX.4.2"),
        fix(report(4, "20260105-16:11:00", t1="ACC-1", t11="alpha/42", t14=300, t15="USD", t17="E4", t19="E2",
                   t20=2, t31="101.70", t32=200, t37="O-42", t38=300, t39=2, t54=1, t55="IBM",
                   t60="20260105-16:11:00", t150=2, t151=0), begin="FIX.4.2"),
    ]
    files["fix42_bust_correct.log"] = "\r\n".join(lines) + "\r\n"

    # 4. FIX 4.4 busts/corrections (150=H/G), an option (200/201/202), per-unit and percent commissions,
    #    a PossDup resend of a fill, a fill without LastQty (CumQty progress), a message without 10.
    opt = dict(t1="ACC-1", t15="USD", t37="NX-9", t38=10, t40=2, t44="5.10", t54=1, t55="AAPL", t200="202603",
               t201=1, t202="200", t11="vol/9")
    lines = [
        fix(report(20, "20260105-17:00:00.000", **opt, t14=0, t17="Z1", t39=0, t60="20260105-17:00:00.000", t150=0,
                   t151=10)),
        fix(report(21, "20260105-17:00:01.000", **opt, t12="0.65", t13=1, t14=4, t17="Z2", t31="5.05", t32=4, t39=1,
                   t60="20260105-17:00:01.000", t150="F", t151=6, t851=1)),
        fix(report(22, "20260105-17:00:02.000", **opt, t12="0.001", t13=2, t14=10, t17="Z3", t31="5.10", t39=2,
                   t60="20260105-17:00:02.000123", t150="F", t151=0, t479="USD")),
        fix(report(21, "20260105-17:00:03.000", **opt, t12="0.65", t13=1, t14=4, t17="Z2", t31="5.05", t32=4, t39=1,
                   t43="Y", t60="20260105-17:00:01.000", t150="F", t151=6, t851=1)),
        fix(report(23, "20260105-17:05:00.000", **opt, t14=6, t17="Z4", t19="Z2", t39=1, t60="20260105-17:05:00.000",
                   t150="H", t151=4, t58="busted by venue")),
        fix(report(24, "20260105-17:06:00.000", **opt, t14=10, t17="Z5", t19="Z3", t31="5.08", t32=6, t39=2,
                   t60="20260105-17:06:00.000", t150="G", t151=0, t378=3), checksum=False),
    ]
    files["options_bust_correct_possdup.log"] = "\n".join(lines) + "\n"

    # 5. Several messages on one line, a status report (150=I), SecurityID without Symbol, a Text with '='.
    two = fix(report(30, "20260105-18:00:00", t1="ACC-3", t11="m/1", t14=0, t17="W1", t22=4, t37="NX-30", t38=50,
                     t39=0, t40=1, t48="US0378331005", t54=1, t60="20260105-18:00:00", t150=0, t151=50))
    two += fix(report(31, "20260105-18:00:01", t1="ACC-3", t11="m/1", t14=50, t17="W2", t22=4, t31="230", t32=50,
                      t37="NX-30", t38=50, t39=1, t48="US0378331005", t54=1, t60="20260105-18:00:01", t150="F",
                      t151=0))
    lines = [
        two,
        fix(report(32, "20260105-18:00:02", t1="ACC-3", t11="m/1", t14=50, t17="W3", t22=4, t37="NX-30", t38=50,
                   t39=2, t48="US0378331005", t54=1, t58="state=done", t60="20260105-18:00:02", t150="I", t151=0)),
    ]
    files["several_per_line_status.log"] = "\n".join(lines) + "\n"
    return files


# --- IBKR Flex ---------------------------------------------------------------------------------------

ROW_DEFAULTS = {
    "accountId": "U1234567", "currency": "USD", "assetCategory": "STK", "symbol": "AAPL", "conid": "265598",
    "isin": "US0378331005", "listingExchange": "NASDAQ", "multiplier": "1", "reportDate": "20260105",
    "tradeDate": "20260105", "settleDateTarget": "20260106", "transactionType": "ExchTrade", "exchange": "ISLAND",
    "taxes": "0", "ibCommissionCurrency": "USD", "openCloseIndicator": "O", "notes": "P", "origTradePrice": "0",
    "origTradeDate": "", "origTradeID": "", "origOrderID": "0", "brokerageOrderID": "", "exchOrderId": "N/A",
    "extExecID": "N/A", "orderType": "LMT", "isAPIOrder": "N", "levelOfDetail": "EXECUTION",
}  # fmt: skip


def xml_attrs(values: dict[str, str]) -> str:
    out = []
    for key, value in values.items():
        value = value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        out.append(f'{key}="{value}"')
    return " ".join(out)


def execution(trade_id: str, transaction_id: str, order_id: str, quantity: str, price: str, when: str,
              **extra: str) -> dict[str, str]:
    q, px = float(quantity), float(price.replace(",", ""))
    row = dict(ROW_DEFAULTS)
    row.update(
        tradeID=trade_id, transactionID=transaction_id, ibOrderID=order_id, ibExecID=f"0000e0d5.{trade_id}.01.01",
        quantity=quantity, tradePrice=price, tradeMoney=f"{abs(q) * px:.2f}",
        proceeds=f"{-q * px:.2f}", ibCommission="-0.35", netCash=f"{-q * px - 0.35:.2f}",
        buySell="BUY" if q > 0 else "SELL", dateTime=when, orderTime=when, orderReference=f"mgr-a/{order_id}",
    )
    row.update(extra)
    return row


def flex(*statements: tuple[str, list[tuple[str, dict[str, str]]]], when: str = "20260106;020512") -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<FlexQueryResponse queryName="exec_pipeline daily trades" type="AF">',
             f'  <FlexStatements count="{len(statements)}">']
    for account, rows in statements:
        parts.append(f'    <FlexStatement accountId="{account}" fromDate="20260105" toDate="20260105" '
                     f'period="LastBusinessDay" whenGenerated="{when}">')
        parts.append("      <Trades>")
        for tag, values in rows:
            parts.append(f"        <{tag} {xml_attrs(values)} />")
        parts.append("      </Trades>")
        parts.append("    </FlexStatement>")
    parts += ["  </FlexStatements>", "</FlexQueryResponse>"]
    return "\n".join(parts) + "\n"


def ibkr_corpus() -> dict[str, str]:
    files: dict[str, str] = {}
    # 1. executions only (the usual query): a buy filled in two executions, a sell.
    files["executions.xml"] = flex(("U1234567", [
        ("Trade", execution("7701", "31201", "1840001", "100", "228.61", "20260105;093512")),
        ("Trade", execution("7702", "31202", "1840001", "200", "228.65", "20260105;093540")),
        ("Trade", execution("7703", "31203", "1840002", "-50", "415.10", "20260105;101500", symbol="MSFT",
                            conid="272093", isin="US5949181045")),
    ]))
    # 2. ORDER rows (the order's quantity) with their executions, and a CLOSED_LOT row.
    order = execution("", "", "1840003", "300", "228.70", "20260105;110000")
    order.update(levelOfDetail="ORDER", ibExecID="", notes="")
    files["orders_and_lots.xml"] = flex(("U1234567", [
        ("Order", order),
        ("Trade", execution("7704", "31204", "1840003", "100", "228.60", "20260105;110001")),
        ("Trade", execution("7705", "31205", "1840003", "200", "228.75", "20260105;110002")),
        ("Lot", execution("7705", "", "", "-200", "210.00", "20260105;110002", levelOfDetail="CLOSED_LOT")),
    ]))
    # 3. a cancellation of a fill, its re-booking under the same tradeID, and a TradeCorrect.
    fill = execution("7706", "31206", "1840004", "100", "99.50", "2026-01-05;12:00:00", symbol="IBM", conid="8314")
    cancel = dict(fill, tradeID="", transactionType="TradeCancel", exchange="--", quantity="-100", notes="Ca",
                  origTradeID="7706", origTradePrice="99.50", origTradeDate="20260105", transactionID="31207",
                  buySell="BUY (Ca.)", ibExecID="", dateTime="2026-01-05;12:30:00")
    rebook = dict(fill, transactionID="31208", ibExecID="0000e0d5.7706.02.01", tradePrice="99.45",
                  dateTime="2026-01-05;12:30:01")
    correct = execution("7707", "31209", "1840004", "100", "99.40", "2026-01-05;13:00:00", symbol="IBM",
                        conid="8314", transactionType="TradeCorrect", origTradeID="7706")
    files["cancel_rebook_correct.xml"] = flex(("U1234567", [("Trade", fill), ("Trade", cancel), ("Trade", rebook),
                                                            ("Trade", correct)]))
    # 4. two statements (two accounts), other date forms, an offset, an option and a future.
    option = execution("8801", "41201", "2840001", "2", "3.15", "20260105 143000", symbol="AAPL  260320C00230000",
                       assetCategory="OPT", conid="700001", multiplier="100", strike="230", expiry="20260320",
                       putCall="C", underlyingSymbol="AAPL", accountId="U7654321")
    future = execution("8802", "41202", "2840002", "-1", "6012.25", "2026-01-05T14:31:00-05:00", symbol="ESH6",
                       assetCategory="FUT", conid="11004968", multiplier="50", expiry="20260320",
                       accountId="U7654321", ibCommission="-2.25")
    files["two_statements_derivatives.xml"] = flex(
        ("U1234567", [("Trade", execution("7708", "31210", "1840005", "10", "1,234.50", "2026-01-05, 15:00:00",
                                          symbol="BKNG", conid="4451"))]),
        ("U7654321", [("Trade", option), ("Trade", future)]),
    )
    # 5. an old statement: <Trade>/<Order> without levelOfDetail, tradeDate + tradeTime, no dateTime.
    old = execution("6601", "21201", "940001", "-300", "15.02", "", tradeDate="20260105", tradeTime="103000",
                    symbol="F", conid="9599491")
    del old["levelOfDetail"], old["dateTime"]
    old_order = dict(old, tradeID="", transactionID="", ibExecID="", orderTime="20260105;102959")
    files["old_style_no_level.xml"] = flex(("U1234567", [("Order", old_order), ("Trade", old)]))
    return files


# --- ccxt ---------------------------------------------------------------------------------------------


def ccxt_order(oid: str, symbol: str, side: str, amount: float, filled: float, status: str, ts: int,
               **extra: object) -> dict:
    price = extra.pop("price", 91250.0)
    order = {
        "info": {"symbol": symbol.replace("/", ""), "orderId": oid, "status": status.upper()},
        "id": oid, "clientOrderId": f"momentum-crypto_{oid[-4:]}", "timestamp": ts,
        "datetime": None, "lastTradeTimestamp": ts + 1500 if filled else None, "lastUpdateTimestamp": ts + 1500,
        "symbol": symbol, "type": "limit", "timeInForce": "GTC", "postOnly": False, "reduceOnly": None,
        "side": side, "price": price, "triggerPrice": None, "stopPrice": None, "amount": amount,
        "cost": round(filled * price, 8), "average": price if filled else None, "filled": filled,
        "remaining": round(amount - filled, 8), "status": status,
        "fee": {"currency": "BNB", "cost": 0.00223503}, "trades": [], "fees": [{"currency": "BNB", "cost": 0.00223503}],
    }  # fmt: skip
    order.update(extra)
    return order


def ccxt_trade(tid: str, oid: str, symbol: str, side: str, amount: float, price: float, ts: int, **extra: object) -> dict:
    trade = {
        "info": {"symbol": symbol.replace("/", ""), "id": tid, "orderId": oid, "isBuyer": side == "buy"},
        "id": tid, "order": oid, "timestamp": ts, "datetime": None, "symbol": symbol, "type": "limit",
        "side": side, "takerOrMaker": "maker", "price": price, "amount": amount, "cost": round(amount * price, 8),
        "fee": {"currency": "BNB", "cost": 0.00011}, "fees": [{"currency": "BNB", "cost": 0.00011}],
    }  # fmt: skip
    trade.update(extra)
    return trade


def ccxt_corpus() -> dict[str, str]:
    files: dict[str, str] = {}
    ts = 1767600000000
    # 1. object form: orders and their trades (fetch_orders + fetch_my_trades)
    files["binance_orders_trades.json"] = json.dumps({
        "exchange": "binance",
        "orders": [
            ccxt_order("31054678110", "BTC/USDT", "buy", 0.05, 0.02, "open", ts),
            ccxt_order("31054678110", "BTC/USDT", "buy", 0.05, 0.05, "closed", ts),
            ccxt_order("20188345117", "ETH/USDT", "sell", 1.5, 0.0, "canceled", ts + 60000, price=3120.5),
        ],
        "trades": [
            ccxt_trade("4012001", "31054678110", "BTC/USDT", "buy", 0.02, 91248.86, ts + 1500),
            ccxt_trade("4012002", "31054678110", "BTC/USDT", "buy", 0.03, 91250.0, ts + 3000, takerOrMaker="taker"),
        ],
    }, indent=1) + "\n"
    # 2. a bare list mixing orders and trades, datetime instead of timestamp, string numbers
    files["bare_list_mixed.json"] = json.dumps([
        ccxt_order("881", "SOL/USDC", "sell", 10, 4, "closed", ts, price=187.25, account="sub-1"),
        ccxt_trade("9901", "881", "SOL/USDC", "sell", 4, 187.25, ts, timestamp=None,
                   datetime="2026-01-05T08:00:01.500Z", fee={"currency": "USDC", "cost": "0.0749"}),
        ccxt_order("882", "SOL/USDC", "buy", 5, 0, "expired", ts + 10, price=180.0, type="limit", timeInForce="IOC"),
    ], indent=1) + "\n"
    # 3. trades only: fees lists (one currency, several currencies), a rebate, a perpetual symbol
    files["trades_fees.json"] = json.dumps({
        "account": "main",
        "trades": [
            ccxt_trade("t1", "o1", "BTC/USDT:USDT", "sell", 0.001, 91000.5, ts, fee=None,
                       fees=[{"currency": "USDT", "cost": 0.01}, {"currency": "USDT", "cost": 0.02}]),
            ccxt_trade("t2", "o1", "BTC/USDT:USDT", "sell", 0.002, 91000.0, ts + 5, fee=None,
                       fees=[{"currency": "USDT", "cost": 0.03}, {"currency": "BNB", "cost": 0.0001}]),
            ccxt_trade("t3", None, "ETH/BTC", "buy", 0.1, 0.0342, ts + 9, fee={"currency": "BTC", "cost": -0.0000012},
                       takerOrMaker="maker", order=None),
        ],
    }, indent=1) + "\n"
    # 4. orders: rejected, closed with filled < amount, a stop order, integer amounts and ids
    files["orders_statuses.json"] = json.dumps({
        "orders": [
            ccxt_order("1001", "ADA/EUR", "buy", 100, 0, "rejected", ts, price=0.91),
            ccxt_order("1002", "ADA/EUR", "sell", 200, 150, "closed", ts + 100, price=0.92),
            ccxt_order("1003", "ADA/EUR", "sell", 50, 0, "open", ts + 200, price=0.85, type="stop_limit",
                       triggerPrice=0.86, id=1003),
        ],
        "trades": None,
    }, indent=1) + "\n"
    return files


# --- CSV ----------------------------------------------------------------------------------------------


def csv_corpus() -> dict[str, str]:
    files: dict[str, str] = {}
    # config 0 (default): fills with the default column names, ISO times
    files["fills_default_columns.csv"] = (
        "trade_time,account,order_id,client_order_id,trade_id,symbol,security_id,side,quantity,price,currency,"
        "commission,commission_currency,venue,liquidity\n"
        "2026-01-05 09:30:01.250,ACC-1,ORD-1,alpha/1,EX-1,AAPL,US0378331005,BUY,200,185.49,USD,1.00,USD,XNAS,M\n"
        "2026-01-05 09:30:02.500,ACC-1,ORD-1,alpha/1,EX-2,AAPL,US0378331005,BUY,300,185.50,USD,1.50,USD,ARCX,T\n"
        "2026-01-05T10:15:00+00:00,ACC-2,ORD-2,beta/7,EX-3,MSFT,US5949181045,SELL,100,402.10,USD,0.50,USD,XNAS,add\n"
    )
    # config 0: events, fills, a bust and a correction, quoted text with a comma
    files["events_bust_correction.csv"] = (
        "trade_time,account,order_id,client_order_id,exec_id,trade_id,exec_type,symbol,side,quantity,price,currency,"
        "order_quantity,order_type,limit_price,cum_quantity,leaves_quantity,order_status,ref_trade_id,reason\n"
        "2026-01-05 09:30:00,ACC-1,ORD-1,alpha/1,X-1,,new,AAPL,BUY,,,USD,500,LMT,185.50,0,500,,,\n"
        "2026-01-05 09:30:01,ACC-1,ORD-1,alpha/1,X-2,EX-1,fill,AAPL,BUY,200,185.49,USD,500,LMT,185.50,200,300,,,\n"
        "2026-01-05 09:30:02,ACC-1,ORD-1,alpha/1,X-3,EX-2,PartiallyFilled,AAPL,BUY,300,185.50,USD,500,LMT,185.50,500,0,"
        "filled,,\n"
        "2026-01-05 11:00:00,ACC-1,ORD-1,alpha/1,X-4,EX-1B,Bust,AAPL,BUY,200,,USD,500,LMT,185.50,300,,,EX-1,"
        '"price out of band, venue"\n'
        "2026-01-05 11:05:00,ACC-1,ORD-1,alpha/1,X-5,EX-2C,correction,AAPL,BUY,300,185.45,USD,500,LMT,185.50,,,,EX-2,\n"
        "2026-01-05 12:00:00,ACC-1,ORD-3,alpha/9,X-6,,Rejected,TSLA,SELL SHORT,,,USD,50,LMT,250,0,0,,,no locate\n"
    )
    # config 1 (Europe/London, ids_per_symbol): signed quantities without a side column, CRLF, a BOM
    files["signed_quantities_london.csv"] = (
        "\ufefftrade_time,symbol,quantity,price,trade_id,settlement_cost,settlement_currency,currency\r\n"
        "2026-07-01 08:00:04.210,VOD.L,3000,0.7118,T-1,-2135.40,GBP,GBP\r\n"
        "2026-07-01 08:02:41.750,VOD.L,-2500,0.7120,T-2,1780.00,GBP,GBP\r\n"
        "2026-07-01 08:02:41.750,BARC.L,1000,2.1045,,-2104.50,GBP,GBP\r\n"
    )
    # config 1: an events-only file (exec_type without quantity/price columns)
    files["events_only.csv"] = (
        "trade_time,order_id,symbol,side,exec_type,order_status,order_quantity,cum_quantity,leaves_quantity,reason\n"
        "2026-01-05 09:00:00,O-1,VOD.L,S,pending_new,,1000,0,1000,\n"
        "2026-01-05 09:00:01,O-1,VOD.L,S,new,,1000,0,1000,\n"
        "2026-01-05 09:05:00,O-1,VOD.L,S,cancelled,canceled,1000,0,0,user\n"
    )
    # config 2 (epoch_ms, custom words): epoch millisecond times, broker words for sides/types/statuses
    files["epoch_ms_custom_words.csv"] = (
        "trade_time,order_id,trade_id,exec_type,symbol,side,quantity,price,order_status,order_time\n"
        "1767603600000,O-9,F-1,EXEC,ESH6,Long,2,6012.25,PF,1767603599000\n"
        "1767603600500.5,O-9,F-2,EXEC,ESH6,Long,3,6012.50,DONE,\n"
        "1767603700000,O-10,,OPEN,ESH6,Short,,,WORKING,\n"
    )
    # config 3 (';', decimal comma, '.' thousands, dd.mm.yyyy strptime, Europe/Berlin)
    files["semicolon_decimal_comma.csv"] = (
        "trade_time;account;order_id;trade_id;symbol;side;quantity;price;commission;commission_currency\n"
        "05.01.2026 09:30:01;U123;O-1;E-1;SAP;B;100;182,35;1,50;EUR\n"
        "05.01.2026 09:30:02;U123;O-1;E-2;SAP;B;1.050;182,40;0,75;EUR\n"
        '05.01.2026 10:00:00;U123;O-2;E-3;"SIE";S;25;1.234,5;;\n'
    )
    return files


# --- writing ------------------------------------------------------------------------------------------

#: Which configuration of ``fuzz_readers.CONFIGS[format]`` each CSV seed is written for.
CSV_CONFIG = {
    "fills_default_columns.csv": 0,
    "events_bust_correction.csv": 0,
    "signed_quantities_london.csv": 1,
    "events_only.csv": 1,
    "epoch_ms_custom_words.csv": 2,
    "semicolon_decimal_comma.csv": 3,
}


def pad_for(data: bytes, wanted: int, count: int, pad: bytes) -> bytes:
    """``data`` with trailing ``pad`` bytes until ``len(data) % count == wanted``."""
    while len(data) % count != wanted:
        data += pad
    return data


def main() -> int:
    corpora = {"fix44": fix_corpus(), "ibkr_flex": ibkr_corpus(), "ccxt": ccxt_corpus(), "csv": csv_corpus()}
    failures = 0
    for fmt, files in corpora.items():
        directory = HERE / "corpus" / fmt
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()
        count = len(fuzz_readers.CONFIGS[fmt])
        for position, (name, text) in enumerate(sorted(files.items())):
            data = text.encode()
            wanted = CSV_CONFIG[name] if fmt == "csv" else position % count
            data = pad_for(data, wanted, count, b"\n" if fmt != "ccxt" else b" ")
            (directory / name).write_bytes(data)
            records = list(fuzz_readers.READ[fmt](data, fuzz_readers.make_context(fmt, fuzz_readers.config_for(fmt, data))))
            kinds: dict[str, int] = {}
            for record in records:
                kinds[type(record).__name__] = kinds.get(type(record).__name__, 0) + 1
            rejects = [r for r in records if type(r).__name__ == "RejectRecord"]
            status = "ok" if records and not rejects else "NOT CLEAN"
            failures += status != "ok"
            print(f"{fmt:10} {name:38} config {fuzz_readers.config_for(fmt, data)} {len(data):6} bytes  {kinds}  {status}")
            for reject in rejects:
                print(f"    reject line {reject.record_number}: {reject.field}: {reject.reason}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
