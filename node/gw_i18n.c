/*
 * gw_i18n.c — the message table of the public pages and the choice of a
 * request's language.
 *
 * msgs[] has one row per enum gw_msg and one column per enum gw_lang; a NULL
 * cell falls back to English (gw_msg), and a _Static_assert keeps the rows in
 * step with the enum. The words are for people who scanned a product: short,
 * plain, no ledger jargon beyond "block". Accept-Language is parsed through a
 * bounded cursor (at most GW_LANG_HEADER_MAX bytes, no str* call on it).
 */
#include "node/gw_i18n.h"

#include <stdbool.h>
#include <stdint.h>

static const struct {
    const char *code, *name;
} langs[GW_LANG__COUNT] = {
    [GW_LANG_EN] = {"en", "English"},  [GW_LANG_DE] = {"de", "Deutsch"},
    [GW_LANG_FR] = {"fr", "Français"}, [GW_LANG_ES] = {"es", "Español"},
    [GW_LANG_JA] = {"ja", "日本語"},   [GW_LANG_ZH] = {"zh", "中文"},
};

typedef const char *row[GW_LANG__COUNT]; /* en, de, fr, es, ja, zh */

static const row msgs[] = {
    [GW_M_ST_GENUINE] = {"Genuine", "Echt", "Authentique", "Auténtico", "正規品", "正品"},
    [GW_M_ST_SUSPICIOUS] = {"Suspicious", "Verdächtig", "Suspect", "Sospechoso", "要注意", "可疑"},
    [GW_M_ST_EXPIRED] = {"Expired", "Abgelaufen", "Périmé", "Caducado", "期限切れ", "已过期"},
    [GW_M_ST_RECALLED] = {"Recalled", "Zurückgerufen", "Rappelé", "Retirado del mercado",
                          "リコール対象", "已召回"},
    [GW_M_ST_STOLEN] = {"Reported stolen", "Als gestohlen gemeldet", "Déclaré volé",
                        "Denunciado como robado", "盗難届あり", "已报失窃"},
    [GW_M_ST_NOT_GENUINE] = {"Not genuine", "Nicht echt", "Non authentique", "No auténtico",
                             "正規品ではありません", "非正品"},

    [GW_M_R_UNKNOWN_SERIAL] = {"This serial number was never made by the brand",
                               "Diese Seriennummer hat die Marke nie hergestellt",
                               "La marque n'a jamais fabriqué ce numéro de série",
                               "La marca nunca fabricó este número de serie",
                               "このシリアル番号はブランドが製造したものではありません",
                               "该品牌从未生产过此序列号"},
    [GW_M_R_BAD_LABEL_SIGNATURE] = {"The label's signature does not match the brand's",
                                    "Die Signatur des Etiketts passt nicht zur Marke",
                                    "La signature de l'étiquette ne correspond pas à la marque",
                                    "La firma de la etiqueta no coincide con la de la marca",
                                    "ラベルの署名がブランドのものと一致しません",
                                    "标签签名与品牌不符"},
    [GW_M_R_COUNTERFEIT] = {"The brand has flagged copies of this code",
                            "Die Marke hat Kopien dieses Codes gemeldet",
                            "La marque a signalé des copies de ce code",
                            "La marca ha detectado copias de este código",
                            "ブランドがこのコードの複製を報告しています",
                            "品牌已发现此代码的仿冒品"},
    [GW_M_R_DESTROYED] = {"This unit was recorded as destroyed",
                          "Dieses Exemplar wurde als vernichtet erfasst",
                          "Cet exemplaire a été enregistré comme détruit",
                          "Esta unidad fue registrada como destruida",
                          "この製品は廃棄済みとして記録されています", "此商品已登记为销毁"},
    [GW_M_R_STOLEN] = {"This unit was reported stolen",
                       "Dieses Exemplar wurde als gestohlen gemeldet",
                       "Cet exemplaire a été déclaré volé",
                       "Esta unidad fue denunciada como robada", "この製品は盗難届が出されています",
                       "此商品已被报告失窃"},
    [GW_M_R_RECALLED] = {"The brand has recalled this unit",
                         "Die Marke hat dieses Exemplar zurückgerufen",
                         "La marque a rappelé cet exemplaire", "La marca ha retirado esta unidad",
                         "ブランドがこの製品をリコールしました", "品牌已召回此商品"},
    [GW_M_R_EXPIRED] = {"The expiry date has passed", "Das Ablaufdatum ist überschritten",
                        "La date de péremption est dépassée", "La fecha de caducidad ha pasado",
                        "有効期限が過ぎています", "已超过有效期"},
    [GW_M_R_TOO_MANY_CLIENTS] = {"Scanned by more different people than expected",
                                 "Von mehr verschiedenen Personen gescannt als erwartet",
                                 "Scanné par plus de personnes différentes que prévu",
                                 "Escaneado por más personas distintas de lo esperado",
                                 "想定より多くの人にスキャンされています",
                                 "扫描此商品的人数超出预期"},
    [GW_M_R_IMPOSSIBLE_TRAVEL] =
        {"Scanned in places too far apart for the time between",
         "An Orten gescannt, die für die Zeit dazwischen zu weit auseinander liegen",
         "Scanné dans des lieux trop éloignés pour le temps écoulé",
         "Escaneado en lugares demasiado lejanos para el tiempo transcurrido",
         "短時間に離れすぎた場所でスキャンされています", "在相距过远的地点短时间内被扫描"},
    [GW_M_R_OUTSIDE_MARKETS] = {"Scanned outside the markets this lot was made for",
                                "Außerhalb der Märkte gescannt, für die diese Charge bestimmt ist",
                                "Scanné hors des marchés prévus pour ce lot",
                                "Escaneado fuera de los mercados a los que se destina este lote",
                                "このロットの販売地域外でスキャンされています",
                                "在此批次的目标市场之外被扫描"},
    [GW_M_R_SCANNED_BEFORE_SALE] = {"Scanned by the public before it was sold",
                                    "Vor dem Verkauf öffentlich gescannt",
                                    "Scanné par le public avant d'être vendu",
                                    "Escaneado por el público antes de venderse",
                                    "販売前に一般の人にスキャンされています", "售出前已被公众扫描"},
    [GW_M_R_REPORTED_FAKE] = {"Customers reported it as a suspected fake",
                              "Kunden haben es als mögliche Fälschung gemeldet",
                              "Des clients l'ont signalé comme contrefaçon possible",
                              "Hay clientes que lo han denunciado como posible falsificación",
                              "偽物の疑いがあると報告されています", "有顾客举报其疑似假货"},

    [GW_M_EV_MINT] = {"Made", "Hergestellt", "Fabriqué", "Fabricado", "製造", "生产"},
    [GW_M_EV_PICKUP] = {"Picked up for transport", "Zum Transport abgeholt",
                        "Pris en charge pour le transport", "Recogido para el transporte",
                        "輸送のため集荷", "已揽收待运输"},
    [GW_M_EV_DELIVER] = {"Delivered", "Zugestellt", "Livré", "Entregado", "配達済み", "已送达"},
    [GW_M_EV_SELL] = {"Sold", "Verkauft", "Vendu", "Vendido", "販売", "已售出"},
    [GW_M_EV_CLAIM] = {"Ownership claimed", "Eigentum beansprucht", "Propriété revendiquée",
                       "Propiedad reclamada", "所有者登録", "已认领所有权"},
    [GW_M_EV_TRANSFER] = {"Ownership transferred", "Eigentum übertragen", "Propriété transférée",
                          "Propiedad transferida", "所有権の移転", "所有权已转让"},
    [GW_M_EV_WARRANTY_ACTIVATE] = {"Warranty activated", "Garantie aktiviert", "Garantie activée",
                                   "Garantía activada", "保証を開始", "保修已激活"},
    [GW_M_EV_WARRANTY_EXTEND] = {"Warranty extended", "Garantie verlängert", "Garantie prolongée",
                                 "Garantía ampliada", "保証を延長", "保修已延长"},
    [GW_M_EV_WARRANTY_CLAIM] = {"Warranty claim filed", "Garantiefall gemeldet",
                                "Demande de garantie déposée", "Reclamación de garantía presentada",
                                "保証請求", "已提交保修申请"},
    [GW_M_EV_WARRANTY_RESOLVE] = {"Warranty claim resolved", "Garantiefall erledigt",
                                  "Demande de garantie traitée", "Reclamación de garantía resuelta",
                                  "保証請求の処理完了", "保修申请已处理"},
    [GW_M_EV_FLAG] = {"Flagged", "Markiert", "Signalé", "Marcado", "警告", "已标记"},
    [GW_M_EV_UNFLAG] = {"Flag cleared", "Markierung aufgehoben", "Signalement levé",
                        "Marca retirada", "警告を解除", "标记已解除"},

    [GW_M_EV_TRANSFER_OFFER] = {"Offered for transfer", "Zur Übertragung angeboten",
                                "Proposé au transfert", "Ofrecido para transferencia",
                                "譲渡を申し出", "已发起转让"},
    [GW_M_EV_TRANSFER_CANCEL] = {"Transfer offer withdrawn", "Übertragungsangebot zurückgezogen",
                                 "Offre de transfert retirée", "Oferta de transferencia retirada",
                                 "譲渡の申し出を取り消し", "已撤回转让"},
    [GW_M_EV_PACK] = {"Packed into", "Verpackt in", "Emballé dans", "Embalado en", "梱包先",
                      "装入"},
    [GW_M_EV_UNPACK] = {"Unpacked from", "Entnommen aus", "Déballé de", "Desembalado de", "開梱元",
                        "取出自"},
    [GW_M_IN_PARENT] = {"inside", "in", "dans", "dentro de", "同梱:", "随附于"},
    [GW_M_FLAG_RECALLED] = {"recalled", "zurückgerufen", "rappelé", "retirado", "リコール", "召回"},
    [GW_M_FLAG_STOLEN] = {"stolen", "gestohlen", "volé", "robado", "盗難", "失窃"},
    [GW_M_FLAG_COUNTERFEIT] = {"copies seen", "Kopien gesehen", "copies repérées",
                               "copias detectadas", "複製品を確認", "发现仿冒"},
    [GW_M_FLAG_DESTROYED] = {"destroyed", "vernichtet", "détruit", "destruido", "廃棄", "已销毁"},
    [GW_M_OUT_REPAIRED] = {"repaired", "repariert", "réparé", "reparado", "修理済み", "已维修"},
    [GW_M_OUT_REPLACED] = {"replaced", "ersetzt", "remplacé", "sustituido", "交換済み", "已更换"},
    [GW_M_OUT_REJECTED] = {"declined", "abgelehnt", "refusée", "rechazada", "却下", "已拒绝"},
    [GW_M_STATE_MINTED] = {"made, not yet shipped", "hergestellt, noch nicht versandt",
                           "fabriqué, pas encore expédié", "fabricado, aún no enviado",
                           "製造済み・未出荷", "已生产，尚未发货"},
    [GW_M_STATE_IN_TRANSIT] = {"in transport", "im Transport", "en transport", "en transporte",
                               "輸送中", "运输中"},
    [GW_M_STATE_DELIVERED] = {"delivered to a seller", "an einen Händler geliefert",
                              "livré à un vendeur", "entregado a un vendedor", "販売店に納品済み",
                              "已送达销售商"},
    [GW_M_STATE_SOLD] = {"sold", "verkauft", "vendu", "vendido", "販売済み", "已售出"},
    [GW_M_STATE_OWNED] = {"sold and owned by a customer", "verkauft, im Besitz eines Kunden",
                          "vendu, appartient à un client", "vendido, de un cliente",
                          "販売済み・所有者登録あり", "已售出，归顾客所有"},
    [GW_M_W_NOT_STARTED] = {"starts at sale", "beginnt mit dem Verkauf", "commence à la vente",
                            "empieza con la venta", "販売時に開始", "自售出起生效"},
    [GW_M_W_EXPIRED] = {"ended", "abgelaufen", "terminée", "vencida", "終了", "已到期"},
    [GW_M_W_CLAIM_OPEN] = {"a claim is open", "ein Garantiefall ist offen",
                           "une demande est en cours", "hay una reclamación abierta",
                           "保証請求の処理中", "有未处理的保修申请"},
    [GW_M_W_ACTIVE] = {"active", "aktiv", "active", "activa", "有効", "有效"},
    [GW_M_W_INACTIVE] = {"not activated yet", "noch nicht aktiviert", "pas encore activée",
                         "aún no activada", "未開始", "尚未激活"},

    [GW_M_PRODUCT_CHECK] = {"Product check", "Produktprüfung", "Vérification du produit",
                            "Comprobación del producto", "製品チェック", "商品验证"},
    [GW_M_MADE_BY_PRE] = {"Made by ", "Hergestellt von ", "Fabriqué par ", "Fabricado por ", "",
                          "由 "},
    [GW_M_MADE_BY_POST] = {" and recorded on the shared ledger.",
                           " und im gemeinsamen Register erfasst.",
                           " et enregistré dans le registre partagé.",
                           " y registrado en el registro compartido.",
                           " が製造し、共有台帳に記録されています。",
                           " 生产，并已记录在共享账本中。"},
    [GW_M_PRODUCT] = {"Product", "Produkt", "Produit", "Producto", "製品", "商品"},
    [GW_M_MODEL] = {"Model", "Modell", "Modèle", "Modelo", "モデル", "型号"},
    [GW_M_BRAND] = {"Brand", "Marke", "Marque", "Marca", "ブランド", "品牌"},
    [GW_M_GTIN] = {"GTIN", NULL, NULL, NULL, NULL, NULL},
    [GW_M_SERIAL] = {"Serial", "Seriennummer", "N° de série", "N.º de serie", "シリアル番号",
                     "序列号"},
    [GW_M_LOT] = {"Lot", "Charge", "Lot", "Lote", "ロット", "批次"},
    [GW_M_EXPIRY] = {"Expiry", "Ablaufdatum", "Péremption", "Caducidad", "有効期限", "有效期"},
    [GW_M_EXPIRED_NOTE] = {"expired", "abgelaufen", "périmé", "caducado", "期限切れ", "已过期"},
    [GW_M_STATUS] = {"Status", "Status", "État", "Estado", "状態", "状态"},
    [GW_M_OWNER] = {"Owner", "Eigentümer", "Propriétaire", "Propietario", "所有者", "所有者"},
    [GW_M_OWNER_UNCLAIMED] = {"sold, not yet claimed", "verkauft, noch nicht beansprucht",
                              "vendu, pas encore revendiqué", "vendido, aún sin reclamar",
                              "販売済み・所有者未登録", "已售出，尚未认领"},
    [GW_M_WARRANTY] = {"Warranty", "Garantie", "Garantie", "Garantía", "保証", "保修"},
    [GW_M_UNTIL] = {"until", "bis", "jusqu'au", "hasta el", "期限", "至"},
    [GW_M_MONTHS_FROM_SALE] = {"months from sale", "Monate ab Verkauf", "mois à partir de la vente",
                               "meses desde la venta", "か月（販売日から）", "个月（自售出起）"},
    [GW_M_HISTORY] = {"History", "Verlauf", "Historique", "Historial", "履歴", "记录"},
    [GW_M_EVENTS] = {"events", "Ereignisse", "événements", "eventos", "件", "条"},
    [GW_M_BY] = {"by", "von", "par", "por", "記録者:", "记录者："},
    [GW_M_TO] = {"to", "an", "à", "a", "宛先:", "至"},
    [GW_M_CUSTOMER] = {"customer", "Kunde", "client", "cliente", "お客様", "顾客"},
    [GW_M_BLOCK] = {"block", "Block", "bloc", "bloque", "ブロック", "区块"},
    [GW_M_EXTENDED_BY_MONTHS] = {"months", "Monate", "mois", "meses", "か月", "个月"},
    [GW_M_EARLIER_EVENTS] = {"earlier events are in the JSON history.",
                             "frühere Ereignisse stehen im JSON-Verlauf.",
                             "événements antérieurs figurent dans l'historique JSON.",
                             "eventos anteriores están en el historial JSON.",
                             "件の以前の記録は JSON の履歴にあります。",
                             "条更早的记录见 JSON 历史。"},
    [GW_M_NO_SUCH_PRODUCT] =
        {"This code does not match any product the brand has made. It may be a copy.",
         "Dieser Code gehört zu keinem Produkt der Marke. Es könnte eine Kopie sein.",
         "Ce code ne correspond à aucun produit de la marque. Il peut s'agir d'une copie.",
         "Este código no corresponde a ningún producto de la marca. Puede ser una copia.",
         "このコードはブランドの製品と一致しません。複製品の可能性があります。",
         "此代码与该品牌的任何商品都不匹配，可能是仿冒品。"},
    [GW_M_OWN_CLAIM_H] = {"Claim this product", "Dieses Produkt registrieren",
                          "Revendiquer ce produit", "Registrar este producto", "この製品を登録",
                          "认领此商品"},
    [GW_M_OWN_TAKEOVER_H] = {"Take over this product", "Dieses Produkt übernehmen",
                             "Reprendre ce produit", "Recibir este producto", "この製品を引き継ぐ",
                             "接收此商品"},
    [GW_M_OWN_CODE_SELLER] = {"Code from the seller", "Code vom Verkäufer", "Code du vendeur",
                              "Código del vendedor", "販売店のコード", "卖家提供的代码"},
    [GW_M_OWN_CODE_OWNER] = {"Transfer code from the owner", "Übertragungscode vom Eigentümer",
                             "Code de transfert du propriétaire",
                             "Código de transferencia del propietario", "所有者の譲渡コード",
                             "所有者提供的转让代码"},
    [GW_M_OWN_CLAIM_BUTTON] = {"Claim with a passkey", "Mit einem Passkey registrieren",
                               "Revendiquer avec une clé d'accès",
                               "Registrar con una llave de acceso", "パスキーで登録",
                               "用通行密钥认领"},
    [GW_M_OWN_OWNER_H] = {"For the owner", "Für den Eigentümer", "Pour le propriétaire",
                          "Para el propietario", "所有者の方へ", "所有者操作"},
    [GW_M_OWN_WARRANTY_BUTTON] = {"Activate the warranty", "Garantie aktivieren",
                                  "Activer la garantie", "Activar la garantía", "保証を有効にする",
                                  "激活保修"},
    [GW_M_OWN_NOTE] = {"The fault, for the warranty claim (optional)",
                       "Der Defekt, für den Garantiefall (optional)",
                       "Le défaut, pour la garantie (facultatif)",
                       "La avería, para la garantía (opcional)", "保証請求する不具合の内容（任意）",
                       "保修申请：故障描述（选填）"},
    [GW_M_OWN_WCLAIM_BUTTON] = {"File a warranty claim", "Garantiefall melden",
                                "Déclarer un sinistre sous garantie",
                                "Presentar una reclamación de garantía", "保証を請求",
                                "提交保修申请"},
    [GW_M_OWN_OFFER_BUTTON] = {"Offer a transfer", "Übertragung anbieten", "Proposer un transfert",
                               "Ofrecer una transferencia", "譲渡を申し出る", "发起转让"},
    [GW_M_OWN_WITHDRAW_BUTTON] = {"Withdraw the offer", "Angebot zurückziehen", "Retirer l'offre",
                                  "Retirar la oferta", "申し出を取り消す", "撤回转让"},
    [GW_M_OWN_STOLEN_BUTTON] = {"Report stolen", "Als gestohlen melden", "Signaler un vol",
                                "Denunciar robo", "盗難を報告", "报告被盗"},
    [GW_M_OWN_NOSCRIPT] =
        {"Claiming and the owner's actions need JavaScript and a browser with "
         "passkeys (or the provena command line).",
         "Registrieren und die Aktionen des Eigentümers brauchen JavaScript und "
         "einen Browser mit Passkeys (oder die provena-Kommandozeile).",
         "La revendication et les actions du propriétaire demandent JavaScript "
         "et un navigateur avec clés d'accès (ou la ligne de commande provena).",
         "Registrar y las acciones del propietario requieren JavaScript y un "
         "navegador con llaves de acceso (o la línea de comandos provena).",
         "登録と所有者の操作には JavaScript とパスキー対応ブラウザ（または provena "
         "コマンド）が必要です。",
         "认领和所有者操作需要 JavaScript 和支持通行密钥的浏览器（或 provena 命令行）。"},
    [GW_M_PK_CREATING] = {"Creating your passkey…", "Passkey wird erstellt…",
                          "Création de votre clé d'accès…", "Creando su llave de acceso…",
                          "パスキーを作成しています…", "正在创建通行密钥…"},
    [GW_M_PK_CLAIMING] = {"Claiming…", "Wird registriert…", "Revendication en cours…",
                          "Registrando…", "登録しています…", "正在认领…"},
    [GW_M_PK_CLAIMED] = {"Claimed: you own this product (block {h}).",
                         "Registriert: Dieses Produkt gehört Ihnen (Block {h}).",
                         "Revendiqué : ce produit vous appartient (bloc {h}).",
                         "Registrado: este producto es suyo (bloque {h}).",
                         "登録しました：この製品はあなたのものです（ブロック {h}）。",
                         "认领成功：此商品归您所有（区块 {h}）。"},
    [GW_M_PK_NOT_CLAIMED] = {"Not claimed: ", "Nicht registriert: ", "Non revendiqué : ",
                             "No registrado: ", "登録できませんでした：", "认领失败："},
    [GW_M_PK_SIGNING] = {"Signing…", "Wird signiert…", "Signature en cours…", "Firmando…",
                         "署名しています…", "正在签名…"},
    [GW_M_PK_OFFERED] =
        {"Transfer offered (block {h}). Show the code to the new owner: it works "
         "once, for 7 days.",
         "Übertragung angeboten (Block {h}). Zeigen Sie den Code dem neuen "
         "Eigentümer: Er gilt einmal, 7 Tage lang.",
         "Transfert proposé (bloc {h}). Montrez le code au nouveau propriétaire : "
         "il sert une fois, pendant 7 jours.",
         "Transferencia ofrecida (bloque {h}). Muestre el código al nuevo "
         "propietario: sirve una vez, durante 7 días.",
         "譲渡を申し出ました（ブロック {h}）。新しい所有者にコードを見せてください。"
         "7日間、1回だけ使えます。",
         "已发起转让（区块 {h}）。请向新所有者出示此代码：7 天内有效，仅可使用一次。"},
    [GW_M_PK_DONE] = {"Done (block {h}).", "Erledigt (Block {h}).", "Fait (bloc {h}).",
                      "Hecho (bloque {h}).", "完了しました（ブロック {h}）。",
                      "已完成（区块 {h}）。"},
    [GW_M_PK_REFUSED] = {"Refused: ", "Abgelehnt: ", "Refusé : ", "Rechazado: ", "拒否されました：",
                         "被拒绝："},
    [GW_M_PK_QR] = {"QR code: ", "QR-Code: ", "Code QR : ", "Código QR: ", "QRコード：",
                    "二维码："},
    [GW_M_SOMETHING_WRONG] = {"Something wrong?", "Stimmt etwas nicht?", "Un problème ?",
                              "¿Algo no cuadra?", "気になる点がありますか？", "发现问题？"},
    [GW_M_WHAT_LOOKS_WRONG] = {"What looks wrong? (optional)", "Was scheint falsch? (optional)",
                               "Qu'est-ce qui semble anormal ? (facultatif)",
                               "¿Qué parece estar mal? (opcional)", "気になる点（任意）",
                               "哪里有问题？（选填）"},
    [GW_M_REPORT_BUTTON] = {"Report suspected fake", "Verdacht auf Fälschung melden",
                            "Signaler une contrefaçon possible", "Denunciar posible falsificación",
                            "偽物の疑いを報告", "举报疑似假货"},
    [GW_M_FOOTER] =
        {"Checked against the Provena ledger. No location or address of yours is stored.",
         "Mit dem Provena-Register abgeglichen. Weder Ihr Standort noch Ihre Adresse werden "
         "gespeichert.",
         "Vérifié dans le registre Provena. Ni votre position ni votre adresse ne sont conservées.",
         "Comprobado en el registro de Provena. No se guarda su ubicación ni su dirección.",
         "Provena 台帳で確認しました。位置情報やアドレスは保存されません。",
         "已在 Provena 账本中核对。不会保存您的位置或地址。"},
    [GW_M_AS_OF_BLOCK] = {"as of block", "Stand Block", "à jour au bloc", "según el bloque",
                          "ブロック時点:", "截至区块"},
    [GW_M_LANGUAGE] = {"Language", "Sprache", "Langue", "Idioma", "言語", "语言"},

    [GW_M_P_LOGISTIC_UNIT] = {"Logistic unit", "Logistische Einheit", "Unité logistique",
                              "Unidad logística", "物流単位", "物流单元"},
    [GW_M_P_CUSTODIAN] = {"Custodian", "Halter", "Détenteur", "Custodio", "保管者", "保管方"},
    [GW_M_P_PACKED_IN] = {"Packed in", "Verpackt in", "Emballé dans", "Embalado en", "梱包先",
                          "装于"},
    [GW_M_P_UNITS_INSIDE] = {"Units inside", "Enthaltene Einheiten", "Unités contenues",
                             "Unidades contenidas", "含まれるユニット", "内含单品"},
    [GW_M_P_LEVELS] = {"Levels", "Ebenen", "Niveaux", "Niveles", "階層", "层级"},
    [GW_M_P_EMPTY] = {"Unpacked: it holds nothing.", "Ausgepackt: enthält nichts.",
                      "Déballé : ne contient rien.", "Desembalado: no contiene nada.",
                      "開梱済み：中身はありません。", "已拆包：其中没有任何物品。"},
    [GW_M_P_PARENTS_INSIDE] = {"Packages inside", "Enthaltene Packstücke", "Colis contenus",
                               "Bultos contenidos", "含まれる梱包", "内含包装"},
    [GW_M_P_NOT_LISTED] = {"Not listed:", "Nicht aufgeführt:", "Non listées :", "No listadas:",
                           "未表示：", "未列出："},

    [GW_M_E_BAD_CODE] = {"Not a valid product code", "Kein gültiger Produktcode",
                         "Code produit non valide", "Código de producto no válido",
                         "有効な製品コードではありません", "无效的商品代码"},
    [GW_M_E_TOO_MANY] = {"Too many scans", "Zu viele Scans", "Trop de scans", "Demasiados escaneos",
                         "スキャンが多すぎます", "扫描次数过多"},
    [GW_M_E_TOO_MANY_DETAIL] = {"Please wait a moment and try again.",
                                "Bitte warten Sie einen Moment und versuchen Sie es erneut.",
                                "Veuillez patienter un instant et réessayer.",
                                "Espere un momento y vuelva a intentarlo.",
                                "しばらく待ってからもう一度お試しください。", "请稍候再试。"},
    [GW_M_E_BEHIND] = {"Not up to date yet", "Noch nicht aktuell", "Pas encore à jour",
                       "Aún no actualizado", "まだ最新ではありません", "尚未同步"},
    [GW_M_E_BEHIND_DETAIL] =
        {"This server has not caught up with your latest change yet. Reload in a second.",
         "Dieser Server kennt Ihre letzte Änderung noch nicht. Laden Sie die Seite gleich neu.",
         "Ce serveur n'a pas encore reçu votre dernière modification. Rechargez dans un instant.",
         "Este servidor aún no tiene su último cambio. Recargue en un momento.",
         "このサーバーはまだ最新の変更を反映していません。少し待って再読み込みしてください。",
         "此服务器尚未同步您的最新更改，请稍后刷新。"},
    [GW_M_THANKS] = {"Thank you", "Danke", "Merci", "Gracias", "ありがとうございます", "谢谢"},
    [GW_M_THANKS_DETAIL] = {"Your report was recorded. The brand will look into this product.",
                            "Ihre Meldung wurde erfasst. Die Marke wird dieses Produkt prüfen.",
                            "Votre signalement a été enregistré. La marque va examiner ce produit.",
                            "Su denuncia ha quedado registrada. La marca revisará este producto.",
                            "報告を受け付けました。ブランドがこの製品を確認します。",
                            "您的举报已记录，品牌将核查此商品。"},
};
_Static_assert(sizeof msgs / sizeof msgs[0] == GW_M__COUNT, "one row per message");

const char *gw_msg(int lang, int msg)
{
    if (msg < 0 || msg >= GW_M__COUNT)
        return "";
    if (lang < 0 || lang >= GW_LANG__COUNT)
        lang = GW_LANG_EN;
    const char *s = msgs[msg][lang];
    if (!s)
        s = msgs[msg][GW_LANG_EN];
    return s ? s : "";
}

const char *gw_lang_code(int lang)
{
    return lang >= 0 && lang < GW_LANG__COUNT ? langs[lang].code : "en";
}

const char *gw_lang_name(int lang)
{
    return lang >= 0 && lang < GW_LANG__COUNT ? langs[lang].name : "English";
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The supported language whose code is the primary subtag of tag[0..n)
 * ("zh-Hant-TW" → zh), or -1. */
static int lang_of_tag(const char *tag, size_t n)
{
    size_t p = 0;
    while (p < n && tag[p] != '-' && tag[p] != '_')
        p++;
    if (p != 2)
        return -1;
    for (int l = 0; l < GW_LANG__COUNT; l++)
        if (lower(tag[0]) == langs[l].code[0] && lower(tag[1]) == langs[l].code[1])
            return l;
    return -1;
}

/* q of ";q=0.8" parameters in p[0..n) as thousandths; 1000 when absent,
 * -1 when malformed. */
static int q_of(const char *p, size_t n)
{
    size_t i = 0;
    int q = 1000;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == ';'))
            i++;
        if (i + 2 <= n && lower(p[i]) == 'q' && p[i + 1] == '=') {
            i += 2;
            if (i >= n || (p[i] != '0' && p[i] != '1'))
                return -1;
            q = (p[i] - '0') * 1000;
            i++;
            if (i < n && p[i] == '.') {
                i++;
                int scale = 100;
                while (i < n && p[i] >= '0' && p[i] <= '9') {
                    q += (p[i] - '0') * scale;
                    scale /= 10;
                    i++;
                }
            }
            if (q > 1000)
                return -1;
        }
        while (i < n && p[i] != ';')
            i++;
    }
    return q;
}

int gw_lang_pick(const char *query_lang, const char *accept)
{
    if (query_lang) {
        size_t n = 0;
        while (n < 36 && query_lang[n])
            n++;
        int l = lang_of_tag(query_lang, n);
        if (l >= 0)
            return l;
    }
    if (!accept)
        return GW_LANG_EN;
    size_t n = 0;
    while (n < GW_LANG_HEADER_MAX && accept[n])
        n++;
    int best = GW_LANG_EN, best_q = 0;
    for (size_t i = 0; i < n;) {
        size_t end = i;
        while (end < n && accept[end] != ',')
            end++;
        size_t s = i;
        while (s < end && accept[s] == ' ')
            s++;
        size_t t = s;
        while (t < end && accept[t] != ';' && accept[t] != ' ')
            t++;
        int l = lang_of_tag(accept + s, t - s);
        int q = q_of(accept + t, end - t);
        if (l >= 0 && q > best_q) {
            best = l;
            best_q = q;
        }
        i = end + 1;
    }
    return best;
}
